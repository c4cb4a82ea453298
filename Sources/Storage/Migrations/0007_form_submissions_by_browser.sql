-- One-time keys per kind of form (the public form apart from the back office's appeal forms), and, for the public
-- form, the browser that sent it (a hash of its form cookie): a restored form is matched to the same browser's
-- earlier appeal only, never to another citizen's.
ALTER TABLE form_submissions DROP CONSTRAINT form_submissions_kind_check;
ALTER TABLE form_submissions ADD CONSTRAINT form_submissions_kind_check CHECK (kind IN ('appeal', 'public_appeal', 'user'));
ALTER TABLE form_submissions ADD COLUMN browser text CHECK (length(browser) = 64);
CREATE INDEX form_submissions_browser ON form_submissions (browser) WHERE browser IS NOT NULL;
