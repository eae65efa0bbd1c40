// All meetings of an official in a date range. The name may be any spelling (names).
// Dates are ISO strings; partial dates ("2018-06") of meetings compare as text.
//   :param name => 'ポンペイオ'
//   :param from => '2018-05-01'
//   :param to => '2018-06-30'
MATCH (p:Person)-[:PARTICIPATED_IN]->(m:Meeting)
WHERE $name IN p.names
  AND toString(m.startDate) >= $from AND toString(m.startDate) <= $to
OPTIONAL MATCH (m)<-[:PARTICIPATED_IN]-(other) WHERE other <> p
OPTIONAL MATCH (m)-[:HELD_IN]->(place)
RETURN p.name AS official, m.kind AS kind, m.startDate AS date, m.status AS status,
       [x IN collect(DISTINCT other.name) WHERE x IS NOT NULL | x] AS with, place.name AS place,
       m.iri AS meeting
ORDER BY toString(date), meeting;
