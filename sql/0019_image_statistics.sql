-- Image search (`GET /api/v1/workloads?image=`) filters workload_images by repository and tag
-- together. PostgreSQL estimates the two conditions as independent, but they are not: a tag such
-- as 1.25.3 belongs to a few repositories only. Over 400,000 workloads the estimate of
-- `nginx:1.25.3` came out ten times too low, and the planner hashed every match (tens of
-- thousands of rows) to count the first thousand. Multivariate statistics (most common
-- combinations and functional dependencies) give it the real figure; it then walks an index and
-- stops at the page or the count's cap (benches/fleet scenario 9: see docs/benchmarks.md).
CREATE STATISTICS workload_images_reference_stats (mcv, dependencies)
    ON repository, tag FROM workload_images;
ANALYZE workload_images;
