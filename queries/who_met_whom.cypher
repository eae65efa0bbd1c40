// Who met whom, and when: one row per pair of persons who took part in the same meeting
// (Meeting, Summit or PhoneCall), with the word used, the date, the place and the status.
// Parameters: none.
MATCH (a:Person)-[:PARTICIPATED_IN]->(m:Meeting)<-[:PARTICIPATED_IN]-(b:Person)
WHERE a.iri < b.iri
OPTIONAL MATCH (m)-[:HELD_IN]->(place)
RETURN a.name AS person, b.name AS other, m.kind AS kind, m.startDate AS date,
       place.name AS place, m.status AS status, m.iri AS meeting
ORDER BY toString(date), person, other;
