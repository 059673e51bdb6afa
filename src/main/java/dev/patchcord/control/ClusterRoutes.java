package dev.patchcord.control;

import dev.patchcord.core.Cidr;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The kernel routes of a hub's clients: each client prefix goes into the clients' interface while
 * the client is attached here (or nowhere), and into the backplane while it is attached to another
 * hub. Changes are collected and made in one {@code ip -batch} per interface and verb when the hub's
 * thread has applied a round of events, so a hub that reads ten thousand clients at start runs
 * {@code ip} twice, not ten thousand times. Used by the hub's thread only.
 */
final class ClusterRoutes {
    private enum Where { MAIN, BACKPLANE }

    private final String mainIf;
    private final String backplaneIf;
    private final HostNetwork network;
    private final PrintStream err;
    /** What the kernel has, as far as this class made it. */
    private final Map<Cidr, Where> installed = new HashMap<>();
    /** What it should have after the next flush; null: no route. */
    private final Map<Cidr, Where> wanted = new LinkedHashMap<>();

    ClusterRoutes(String mainIf, String backplaneIf, HostNetwork network, PrintStream err) {
        this.mainIf = mainIf;
        this.backplaneIf = backplaneIf;
        this.network = network;
        this.err = err;
    }

    void toMain(List<Cidr> prefixes) {
        prefixes.forEach(c -> wanted.put(c.network(), Where.MAIN));
    }

    void toBackplane(List<Cidr> prefixes) {
        prefixes.forEach(c -> wanted.put(c.network(), Where.BACKPLANE));
    }

    void remove(List<Cidr> prefixes) {
        prefixes.forEach(c -> wanted.put(c.network(), null));
    }

    /** How many client prefixes are routed into the backplane. */
    int backplaneRoutes() {
        int n = 0;
        for (Where w : installed.values()) {
            n += w == Where.BACKPLANE ? 1 : 0;
        }
        return n;
    }

    /**
     * Makes the collected changes, one batch per interface and verb, each on its own: a batch
     * that fails (said once per failure) leaves what the kernel has on record as it was, so the
     * prefix is tried again the next time it is asked for.
     */
    void flush() {
        if (wanted.isEmpty()) {
            return;
        }
        Map<Cidr, Where> batch = new LinkedHashMap<>(wanted);
        wanted.clear();
        List<Cidr> main = new ArrayList<>();
        List<Cidr> back = new ArrayList<>();
        List<Cidr> offMain = new ArrayList<>();
        List<Cidr> offBack = new ArrayList<>();
        for (Map.Entry<Cidr, Where> e : batch.entrySet()) {
            Where had = installed.get(e.getKey());
            Where want = e.getValue();
            if (had == want) {
                continue;
            }
            if (want == Where.MAIN) {
                main.add(e.getKey());
            } else if (want == Where.BACKPLANE) {
                back.add(e.getKey());
            } else {
                (had == Where.MAIN ? offMain : offBack).add(e.getKey());
            }
        }
        // "replace" moves a prefix from one interface to the other in one step.
        apply(main, Where.MAIN, true);
        apply(back, Where.BACKPLANE, true);
        apply(offMain, Where.MAIN, false);
        apply(offBack, Where.BACKPLANE, false);
    }

    private void apply(List<Cidr> prefixes, Where where, boolean add) {
        if (prefixes.isEmpty()) {
            return;
        }
        String dev = where == Where.MAIN ? mainIf : backplaneIf;
        try {
            if (add) {
                network.addRoutes(dev, prefixes, null);
            } else {
                network.removeRoutes(dev, prefixes, null);
            }
        } catch (NetConfig.NetConfigException e) {
            err.println("patchcord: " + mainIf + ": cluster routes via " + dev + ": " + e.getMessage());
            return;
        }
        for (Cidr c : prefixes) {
            if (add) {
                installed.put(c, where);
            } else {
                installed.remove(c);
            }
        }
    }
}
