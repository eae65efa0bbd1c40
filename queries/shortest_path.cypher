// The shortest path between two officials (any spelling of their names), not through
// source documents: who connects them, through which meetings, visits, posts and states.
//   :param from => 'ラブロフ'
//   :param to => '金英哲'
MATCH (a:Person) WHERE $from IN a.names
MATCH (b:Person) WHERE $to IN b.names
MATCH path = shortestPath((a)-[*..10]-(b))
WHERE none(n IN nodes(path) WHERE n:Document)
RETURN [n IN nodes(path) | n.name] AS names, [r IN relationships(path) | type(r)] AS via,
       length(path) AS hops;
