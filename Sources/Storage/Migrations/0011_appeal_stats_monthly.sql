-- Appeals counted by month (in the report time zone) and by everything the report groups or filters them by, except
-- the operator: a month of 60,000 appeals is about 600 rows here. The monthly report read a month of appeals row by row
-- (65 ms on 60,000 appeals), a year's report twelve times that. An appeal's status changes long after its month, so
-- the counts are kept by triggers, in the same transaction as the change, instead of being rebuilt now and then.
--
-- The time zone that makes months is stats_settings.time_zone; the server aligns it with MUROJAAT_TIMEZONE at start
-- and recounts when it changes. A report in another zone does not read these counts.
CREATE TABLE stats_settings (
    only_row  boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    time_zone text NOT NULL
);
INSERT INTO stats_settings (time_zone) VALUES ('Asia/Tashkent');

-- Dimensions are NOT NULL for the primary key: '' = none (no topic or region given).
CREATE TABLE appeal_stats_monthly (
    month         date NOT NULL,
    language      text NOT NULL,
    topic_code    text NOT NULL,
    category_code text NOT NULL,
    region_code   text NOT NULL,
    status        text NOT NULL,
    appeals       integer NOT NULL,
    PRIMARY KEY (month, language, topic_code, category_code, region_code, status)
);

CREATE FUNCTION appeal_stats_month(at timestamptz) RETURNS date
    LANGUAGE sql STABLE AS $$ SELECT date_trunc('month', at AT TIME ZONE (SELECT time_zone FROM stats_settings))::date $$;

-- Adds `delta` to the count of one appeal's key.
CREATE FUNCTION appeal_stats_add(a appeals, delta integer) RETURNS void LANGUAGE sql AS $$
    INSERT INTO appeal_stats_monthly AS s (month, language, topic_code, category_code, region_code, status, appeals)
    VALUES (appeal_stats_month(a.created_at), a.language, coalesce(a.topic_code, ''), a.category_code, coalesce(a.region_code, ''),
            a.status, delta)
    ON CONFLICT (month, language, topic_code, category_code, region_code, status) DO UPDATE SET appeals = s.appeals + EXCLUDED.appeals
$$;

CREATE FUNCTION appeal_stats_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM appeal_stats_add(NEW, 1);
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM appeal_stats_add(OLD, -1);
    -- A move takes two counts; they are always taken in the order of their keys, so that two appeals moving in
    -- opposite directions at once cannot deadlock.
    ELSIF (appeal_stats_month(OLD.created_at), OLD.language, coalesce(OLD.topic_code, ''), OLD.category_code, coalesce(OLD.region_code, ''), OLD.status)
        < (appeal_stats_month(NEW.created_at), NEW.language, coalesce(NEW.topic_code, ''), NEW.category_code, coalesce(NEW.region_code, ''), NEW.status) THEN
        PERFORM appeal_stats_add(OLD, -1);
        PERFORM appeal_stats_add(NEW, 1);
    ELSE
        PERFORM appeal_stats_add(NEW, 1);
        PERFORM appeal_stats_add(OLD, -1);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER appeal_stats_insert_delete AFTER INSERT OR DELETE ON appeals FOR EACH ROW EXECUTE FUNCTION appeal_stats_count();
CREATE TRIGGER appeal_stats_update AFTER UPDATE OF created_at, language, topic_code, category_code, region_code, status ON appeals
    FOR EACH ROW WHEN ((OLD.created_at, OLD.language, OLD.topic_code, OLD.category_code, OLD.region_code, OLD.status)
                       IS DISTINCT FROM (NEW.created_at, NEW.language, NEW.topic_code, NEW.category_code, NEW.region_code, NEW.status))
    EXECUTE FUNCTION appeal_stats_count();

-- TRUNCATE bypasses row triggers: the counts go with the appeals.
CREATE FUNCTION appeal_stats_clear() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE appeal_stats_monthly;
    RETURN NULL;
END $$;
CREATE TRIGGER appeal_stats_truncate AFTER TRUNCATE ON appeals FOR EACH STATEMENT EXECUTE FUNCTION appeal_stats_clear();

INSERT INTO appeal_stats_monthly (month, language, topic_code, category_code, region_code, status, appeals)
SELECT appeal_stats_month(created_at), language, coalesce(topic_code, ''), category_code, coalesce(region_code, ''), status, count(*)
FROM appeals GROUP BY 1, 2, 3, 4, 5, 6;
