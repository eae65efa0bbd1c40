// Events per unordered pair of states per month (queries/dyad_months.rq in Cypher): held meetings
// and visits with a start date that gives at least the month, each real event once, one that is
// part of another (PART_OF_EVENT) counted with that one. A party stands for a state when it is the
// state, a person who represents it, an organization of it, or (a visit's destination) a place in it.
// Each pair once, its states' ISO alpha-3 codes (alpha-2 when there is none) in alphabetical order.
// Parameters: none.
MATCH (e)
WHERE (e:Meeting OR e:Visit) AND e.status = 'held' AND e.startDate IS NOT NULL
  AND size(toString(e.startDate)) >= 7 AND NOT (e)-[:PART_OF_EVENT]->()
CALL (e) {
  MATCH (p)-[:PARTICIPATED_IN|MADE_VISIT]->(e)
  RETURN p
  UNION
  MATCH (e)-[:TO]->(p)
  RETURN p
}
CALL (p) {
  MATCH (s:State) WHERE s = p
  RETURN s
  UNION
  MATCH (p)-[:REPRESENTS|PART_OF|LOCATED_IN]->(s:State)
  RETURN s
}
WITH e, collect(DISTINCT s) AS states
UNWIND states AS a
UNWIND states AS b
WITH e, a, b, coalesce(a.isoAlpha3, a.isoCode) AS isoA, coalesce(b.isoAlpha3, b.isoCode) AS isoB
WHERE isoA < isoB
RETURN substring(toString(e.startDate), 0, 7) AS month, isoA, isoB, a.name AS stateA, b.name AS stateB,
       count(DISTINCT e) AS events
ORDER BY month, isoA, isoB;
