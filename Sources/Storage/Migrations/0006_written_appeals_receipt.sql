-- A written appeal carries its letter's date of receipt, the incoming number it was registered under, and how
-- it arrived (post, by hand, e-mail, fax, other).
ALTER TABLE appeals
    ADD COLUMN received_on     date,
    ADD COLUMN incoming_number text CHECK (length(incoming_number) BETWEEN 1 AND 64),
    ADD COLUMN received_via    text CHECK (received_via IN ('post', 'hand', 'email', 'fax', 'other'));
