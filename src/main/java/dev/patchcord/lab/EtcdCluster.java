package dev.patchcord.lab;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * An etcd cluster of one or three members inside a {@link Lab}, the shared store of hubs in
 * cluster mode. Every member runs in a namespace of its own, so a test can kill, stop or cut off
 * one member without touching the others; the members and the namespaces that {@link #join} the
 * store network meet on a bridge in a namespace of its own:
 *
 * <pre>
 *   member 0 10.250.0.11 ─┐
 *   member 1 10.250.0.12 ─┼─ bridge "store" (namespace &lt;prefix&gt;-store)
 *   member 2 10.250.0.13 ─┤
 *   joined   10.250.0.101 ┘  (10.250.0.102, … for further namespaces)
 * </pre>
 *
 * All of it belongs to the lab: its namespaces, the etcd processes (spawned through the lab, so
 * {@link Lab#close()} ends them even when a test fails), the data directories (under
 * {@link Lab#logDir()}) and the logs ({@link Lab#log(String)} of {@link #processName(int)}).
 * Members are numbered from 0. Each start of a member is a process of its own name ({@code etcd0},
 * then {@code etcd0-2}, …), so the log of a member that crashed survives its restart.
 */
public final class EtcdCluster {
    private static final String NET = "10.250.0.";
    private static final int CLIENT_PORT = 2379;
    private static final int PEER_PORT = 2380;
    /** etcd starts in about a second; a loaded 2-core machine with three members needs far more. */
    private static final Duration HEALTHY_WITHIN = Duration.ofSeconds(60);
    private static final Duration STOPPED_WITHIN = Duration.ofSeconds(15);
    /** Per etcdctl attempt while waiting for health: short, so a wait polls rather than hangs. */
    private static final Duration PROBE_TIMEOUT = Duration.ofSeconds(2);

    private final Lab lab;
    private final String storeNs;
    private final List<Member> members = new ArrayList<>();
    private int joined;

    private static final class Member {
        final int index;
        final String ns;
        final String ip;
        final Path dataDir;
        int starts;
        String process;

        Member(int index, String ns, String ip, Path dataDir) {
            this.index = index;
            this.ns = ns;
            this.ip = ip;
            this.dataDir = dataDir;
        }

        String clientUrl() {
            return "http://" + ip + ":" + CLIENT_PORT;
        }

        String peerUrl() {
            return "http://" + ip + ":" + PEER_PORT;
        }
    }

    private EtcdCluster(Lab lab) {
        this.lab = lab;
        this.storeNs = lab.netns("store");
        lab.ip(storeNs, "link", "add", "store", "type", "bridge");
        lab.ip(storeNs, "link", "set", "store", "up");
    }

    /**
     * Starts a cluster of {@code size} members (1, or 3 so that one may fail and a quorum of two
     * remains) and returns once every member answers {@code etcdctl endpoint health}.
     */
    public static EtcdCluster start(Lab lab, int size) {
        if (size != 1 && size != 3) {
            throw new IllegalArgumentException("an etcd test cluster has 1 or 3 members, not " + size);
        }
        EtcdCluster c = new EtcdCluster(lab);
        for (int i = 0; i < size; i++) {
            String ns = lab.netns("etcd" + i);
            String ip = NET + (11 + i);
            c.attach(ns, ip);
            c.members.add(new Member(i, ns, ip, lab.logDir().resolve("etcd" + i + ".data")));
        }
        c.members.forEach(c::launch);
        c.awaitHealthy(c.members);
        return c;
    }

    /** Connects a lab namespace to the store network; returns the address it got there. */
    public String join(String clientNs) {
        if (joined >= 100) {
            throw new IllegalStateException("the store network has room for 100 joined namespaces");
        }
        String ip = NET + (101 + joined++);
        attach(clientNs, ip);
        return ip;
    }

    /** The members' client addresses in the form patchcord's configuration uses: {@code etcd://IP:2379,…}. */
    public String endpoints() {
        return "etcd://" + String.join(",", members.stream().map(m -> m.ip + ":" + CLIENT_PORT).toList());
    }

    /** The members' client URLs ({@code http://IP:2379}), as etcdctl and the etcd clients take them. */
    public List<String> clientUrls() {
        return members.stream().map(Member::clientUrl).toList();
    }

    /** The lab process name of the member's current (or last) run, for {@link Lab#log(String)}. */
    public String processName(int member) {
        return member(member).process;
    }

    /**
     * Runs {@code etcdctl} in a namespace that reaches the store network (a member's or a joined
     * one) against every member, each request bounded by {@code commandTimeout}.
     */
    public Lab.Result etcdctl(String ns, Duration commandTimeout, String... args) {
        return etcdctl(ns, clientUrls(), commandTimeout, args);
    }

    /** As {@link #etcdctl(String, Duration, String...)}, against the given client URLs only. */
    public Lab.Result etcdctl(String ns, List<String> urls, Duration commandTimeout, String... args) {
        List<String> cmd = new ArrayList<>(List.of("etcdctl", "--endpoints=" + String.join(",", urls),
                "--dial-timeout=" + commandTimeout.toMillis() + "ms",
                "--command-timeout=" + commandTimeout.toMillis() + "ms"));
        cmd.addAll(List.of(args));
        // etcdctl keeps to its own timeouts; the lab's bound only catches one that hangs regardless.
        return lab.run(ns, commandTimeout.multipliedBy(2).plusSeconds(10), cmd.toArray(String[]::new));
    }

    /** The index of the member that is the leader now, as the running members report it. */
    public int leader() {
        List<Member> running = members.stream().filter(this::running).toList();
        if (running.isEmpty()) {
            throw new IllegalStateException("no etcd member is running");
        }
        Lab.Result r = etcdctl(running.getFirst().ns, running.stream().map(Member::clientUrl).toList(),
                PROBE_TIMEOUT, "endpoint", "status");
        // One line a member: "URL, ID, version, DB size, is leader, is learner, term, …".
        for (String line : r.output().lines().toList()) {
            String[] f = line.split(",\\s*");
            if (f.length > 4 && f[4].equals("true")) {
                for (Member m : members) {
                    if (m.clientUrl().equals(f[0])) {
                        return m.index;
                    }
                }
            }
        }
        throw new IllegalStateException("no leader among the running members: " + r.output().strip());
    }

    /** Kills a member with SIGKILL, as a crash would, and waits (bounded) until it is gone. */
    public void kill(int member) {
        Member m = member(member);
        Process p = lab.processes().get(m.process);
        if (p == null || !p.isAlive()) {
            throw new IllegalStateException("etcd member " + member + " is not running");
        }
        p.destroyForcibly();
        try {
            if (!p.waitFor(STOPPED_WITHIN.toMillis(), TimeUnit.MILLISECONDS)) {
                throw new IllegalStateException("etcd member " + member + " still runs after SIGKILL");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while killing etcd member " + member, e);
        }
    }

    /**
     * Starts a member again on its data directory (stopping it first if it still runs) and returns
     * once it answers health checks, that is, once it has rejoined the cluster and sees a leader.
     */
    public void restart(int member) {
        Member m = member(member);
        if (running(m)) {
            lab.stop(m.process, STOPPED_WITHIN);
        }
        launch(m);
        awaitHealthy(List.of(m));
    }

    /** Stops every running member with SIGTERM, waiting (bounded) for each. */
    public void stopAll() {
        for (Member m : members) {
            if (running(m)) {
                lab.stop(m.process, STOPPED_WITHIN);
            }
        }
    }

    /** Starts every member that is not running, on its data directory, and waits until all are healthy. */
    public void startAll() {
        List<Member> stopped = members.stream().filter(m -> !running(m)).toList();
        stopped.forEach(this::launch);
        awaitHealthy(members);
    }

    /** A veth from the namespace to the bridge: the bridge end has no address, it only forwards. */
    private void attach(String ns, String ip) {
        String[] ends = lab.link(ns, List.of(ip + "/24"), storeNs, List.of());
        lab.ip(storeNs, "link", "set", ends[1], "master", "store");
    }

    private void launch(Member m) {
        m.starts++;
        m.process = m.starts == 1 ? "etcd" + m.index : "etcd" + m.index + "-" + m.starts;
        String cluster = String.join(",", members.stream().map(o -> name(o) + "=" + o.peerUrl()).toList());
        // The initial-cluster flags only matter on the first start; later starts read the
        // membership from the data directory. The token is the lab's prefix, so members of two
        // labs could never merge even if their traffic met.
        lab.spawn(m.ns, m.process, List.of("etcd", "--name", name(m), "--data-dir", m.dataDir.toString(),
                "--logger", "zap", "--log-outputs", "stderr",
                "--listen-client-urls", m.clientUrl(), "--advertise-client-urls", m.clientUrl(),
                "--listen-peer-urls", m.peerUrl(), "--initial-advertise-peer-urls", m.peerUrl(),
                "--initial-cluster", cluster, "--initial-cluster-state", "new",
                "--initial-cluster-token", lab.prefix()));
    }

    /** Member names are unique across labs, so a stray log line or data directory names its lab. */
    private String name(Member m) {
        return lab.prefix() + "-etcd" + m.index;
    }

    private void awaitHealthy(List<Member> which) {
        List<String> urls = which.stream().map(Member::clientUrl).toList();
        String[] last = {""};
        boolean healthy = Lab.await(HEALTHY_WITHIN, () -> {
            for (Member m : which) {
                // A member that exited will not get healthy: say so now, with its log, rather than at the deadline.
                if (!running(m)) {
                    throw new IllegalStateException("etcd member " + m.index + " exited: " + lab.log(m.process).strip());
                }
            }
            Lab.Result r = etcdctl(which.getFirst().ns, urls, PROBE_TIMEOUT, "endpoint", "health");
            last[0] = r.output();
            return r.code() == 0;
        });
        if (!healthy) {
            throw new IllegalStateException("etcd not healthy within " + HEALTHY_WITHIN + ": " + last[0].strip());
        }
    }

    private boolean running(Member m) {
        Process p = lab.processes().get(m.process);
        return p != null && p.isAlive();
    }

    private Member member(int index) {
        if (index < 0 || index >= members.size()) {
            throw new IndexOutOfBoundsException("no etcd member " + index + " of " + members.size());
        }
        return members.get(index);
    }
}
