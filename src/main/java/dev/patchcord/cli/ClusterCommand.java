package dev.patchcord.cli;

import dev.patchcord.cluster.ClusterStore;
import dev.patchcord.cluster.HubRecord;
import dev.patchcord.cluster.StoreException;
import dev.patchcord.cluster.StoreSettings;
import dev.patchcord.control.ConfigException;
import dev.patchcord.control.WgConfig;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code patchcord cluster status}: what the store of a multi-hub network holds (docs/cluster.md),
 * read with the {@code Store} settings of a configuration file. It only reads: it takes no etcd
 * lease and writes nothing, so it can run anywhere the store is reachable, as often as wanted.
 */
@Command(name = "cluster",
        description = {"The store that the hubs of one network share (Store and Cluster in [Interface]; "
                + "docs/cluster.md). Hubs do not use it yet; this reads what it holds."},
        subcommands = {ClusterCommand.Status.class},
        footer = {"", "Run 'patchcord cluster status --help' for the options.",
                "", "Example:", "  patchcord cluster status /etc/patchcord/hub.conf --json"})
final class ClusterCommand implements Runnable {
    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
    boolean help;

    @Override
    public void run() {
        CommandLine.usage(this, System.err);
    }

    @Command(name = "status", sortOptions = false,
            description = {"Show the cluster's live hubs with the clients attached to each, the clients and "
                    + "address leases in the store, and how long the store took to answer."},
            footer = {"", "Examples:", "  patchcord cluster status hub", "  patchcord cluster status ./hub.conf --json"})
    static final class Status implements Callable<Integer> {
        @Option(names = "--json", description = "One JSON object instead of text.")
        boolean json;

        @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
        boolean help;

        @Parameters(paramLabel = "CONFIG|IFNAME", description = "A configuration file with Store and Cluster, or an interface name.")
        String target;

        @Override
        public Integer call() {
            Path file = ConfigFiles.ofInterface(target);
            StoreSettings settings;
            try {
                settings = WgConfig.parse(file).interfaceSection().store();
            } catch (ConfigException e) {
                throw new UserError(e.getMessage());
            } catch (IOException e) {
                throw new UserError("cannot read " + file + ": " + e.getMessage());
            }
            if (settings == null) {
                throw new UserError(file + " has no Store in [Interface]: there is no cluster to show");
            }
            Snapshot s = read(settings);
            System.out.println(json ? toJson(s) : toText(s));
            return 0;
        }
    }

    /** What the store held, read in a few requests; {@code storeMillis} is the last one's round trip. */
    record Snapshot(StoreSettings settings, List<HubRecord> hubs, Map<String, String> attachments, int clients,
                    int leases, long storeMillis) {
        /** Clients attached to each live hub, in the hubs' order, then those naming a hub that has no record. */
        Map<String, Integer> perHub() {
            Map<String, Integer> out = new LinkedHashMap<>();
            hubs.forEach(h -> out.put(h.id(), 0));
            attachments.values().forEach(id -> out.merge(id, 1, Integer::sum));
            return out;
        }
    }

    static Snapshot read(StoreSettings settings) {
        try (ClusterStore store = ClusterPeers.open(settings)) {
            List<HubRecord> hubs = store.hubs();
            Map<String, String> attachments = store.attachments();
            int clients = store.listClients().clients().size();
            long start = System.nanoTime();
            int leases = store.leases().size();
            long millis = (System.nanoTime() - start) / 1_000_000;
            return new Snapshot(settings, hubs, attachments, clients, leases, millis);
        } catch (StoreException e) {
            throw new UserError("cluster " + settings.cluster() + ": " + e.getMessage());
        }
    }

    static String toText(Snapshot s) {
        StringBuilder sb = new StringBuilder();
        sb.append("cluster ").append(s.settings().cluster()).append(" (store ")
                .append(String.join(", ", s.settings().endpoints())).append(s.settings().tls() ? ", TLS" : "")
                .append("; answered in ").append(s.storeMillis()).append(" ms)\n");
        Map<String, Integer> perHub = s.perHub();
        sb.append("hubs: ").append(s.hubs().size()).append('\n');
        for (HubRecord h : s.hubs()) {
            sb.append("  ").append(h.id()).append("  backplane ").append(h.backplaneEndpoint())
                    .append("  clients ").append(perHub.get(h.id())).append('\n');
        }
        perHub.forEach((id, n) -> {
            if (s.hubs().stream().noneMatch(h -> h.id().equals(id))) {
                sb.append("  ").append(id).append("  (no live record)  clients ").append(n).append('\n');
            }
        });
        sb.append("clients: ").append(s.clients()).append(" (").append(s.attachments().size())
                .append(" attached); address leases: ").append(s.leases());
        return sb.toString();
    }

    static String toJson(Snapshot s) {
        StringBuilder sb = new StringBuilder("{\"cluster\": ").append(str(s.settings().cluster()));
        sb.append(", \"endpoints\": [");
        List<String> endpoints = s.settings().endpoints();
        for (int i = 0; i < endpoints.size(); i++) {
            sb.append(i == 0 ? "" : ", ").append(str(endpoints.get(i)));
        }
        sb.append("], \"tls\": ").append(s.settings().tls()).append(", \"store_ms\": ").append(s.storeMillis());
        Map<String, Integer> perHub = s.perHub();
        sb.append(", \"hubs\": [");
        boolean first = true;
        for (Map.Entry<String, Integer> e : perHub.entrySet()) {
            HubRecord h = s.hubs().stream().filter(r -> r.id().equals(e.getKey())).findFirst().orElse(null);
            sb.append(first ? "" : ", ").append("{\"id\": ").append(str(e.getKey()))
                    .append(", \"live\": ").append(h != null)
                    .append(", \"backplane_endpoint\": ").append(h == null ? "null" : str(h.backplaneEndpoint()))
                    .append(", \"backplane_public_key\": ")
                    .append(h == null ? "null" : str(Base64.getEncoder().encodeToString(h.backplanePublicKey())))
                    .append(", \"clients\": ").append(e.getValue()).append('}');
            first = false;
        }
        sb.append("], \"clients\": ").append(s.clients()).append(", \"attached\": ").append(s.attachments().size())
                .append(", \"leases\": ").append(s.leases()).append('}');
        return sb.toString();
    }

    /** A JSON string: the values here are printable ASCII, so quotes and backslashes are all to escape. */
    private static String str(String v) {
        return "\"" + v.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }
}
