// Quotes of a speaker (any spelling of the name) with the sentence they were read from,
// its character offsets and the source document.
//   :param name => 'ポンペイオ'
MATCH (p:Person)-[:SAID]->(q:Quote)
WHERE $name IN p.names
OPTIONAL MATCH (q)-[e:REPORTED_IN]->(d:Document)
RETURN p.name AS speaker, q.text AS quote, q.date AS date, e.sentence AS sentence,
       e.start AS start, e.end AS end, d.name AS document, d.url AS url
ORDER BY toString(date), document, start;
