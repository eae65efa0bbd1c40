// States ranked by the meetings they took part in, directly (a summit between states) or
// through a person who represents them; with how many of those were held.
// Parameters: none.
MATCH (s:State)
CALL (s) {
  MATCH (s)-[:PARTICIPATED_IN]->(m:Meeting)
  RETURN m
  UNION
  MATCH (s)<-[:REPRESENTS]-(:Person)-[:PARTICIPATED_IN]->(m:Meeting)
  RETURN m
}
WITH s, count(DISTINCT m) AS meetings, count(DISTINCT CASE WHEN m.status = 'held' THEN m END) AS held
RETURN s.name AS state, s.isoCode AS iso, meetings, held
ORDER BY meetings DESC, state;
