-- The report's list of complaints and applications of one region read the period's appeals in order until it had
-- enough of the region's: the planner expected them spread evenly, but a region may have none of a category, and the
-- whole month (59,000 appeals) was read to find that out (28 ms). By category, region and time, it is a range read.
CREATE INDEX appeals_category_region_created_idx ON appeals (category_code, region_code, created_at);
