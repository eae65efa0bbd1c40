// Opens a GraphML or GEXF file with Gephi's own importer (gephi-toolkit) and prints what Gephi
// keeps: "nodes N", "edges N", then one "edge<TAB>type<TAB>source<TAB>target" line per edge.
// Run by tests/test_export.py as a single-file program: java -cp gephi-toolkit-all.jar GephiCount.java FILE
import java.io.File;
import org.gephi.graph.api.Edge;
import org.gephi.graph.api.Graph;
import org.gephi.graph.api.GraphController;
import org.gephi.io.importer.api.Container;
import org.gephi.io.importer.api.ImportController;
import org.gephi.io.processor.plugin.DefaultProcessor;
import org.gephi.project.api.ProjectController;
import org.gephi.project.api.Workspace;
import org.openide.util.Lookup;

public class GephiCount {
    public static void main(String[] args) throws Exception {
        ProjectController projects = Lookup.getDefault().lookup(ProjectController.class);
        projects.newProject();
        Workspace workspace = projects.getCurrentWorkspace();
        ImportController importer = Lookup.getDefault().lookup(ImportController.class);
        Container container = importer.importFile(new File(args[0]));
        if (container == null) {
            System.err.println("Gephi could not import " + args[0]);
            System.exit(2);
        }
        importer.process(container, new DefaultProcessor(), workspace);
        Graph graph = Lookup.getDefault().lookup(GraphController.class).getGraphModel(workspace).getGraph();
        StringBuilder out = new StringBuilder();
        out.append("nodes ").append(graph.getNodeCount()).append('\n');
        out.append("edges ").append(graph.getEdgeCount()).append('\n');
        for (Edge e : graph.getEdges()) {
            out.append("edge\t").append(e.getTypeLabel()).append('\t').append(e.getSource().getId())
               .append('\t').append(e.getTarget().getId()).append('\n');
        }
        System.out.print(out);
        System.exit(0);
    }
}
