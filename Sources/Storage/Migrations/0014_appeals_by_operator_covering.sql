-- A report for one operator or team counts their appeals of the period one by one (the monthly counts have no
-- operator). With the bounds of the period computed from bound parameters, the planner could not tell the operator's
-- index from the period's and read the whole month of appeals (58,000 rows for 950): the operator's index now covers
-- what the report groups by, so reading it alone is clearly the cheaper plan.
DROP INDEX appeals_operator_created_idx;
CREATE INDEX appeals_operator_created_idx ON appeals (operator_id, created_at) INCLUDE (category_code, topic_code, region_code, status, language);
