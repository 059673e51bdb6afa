package dev.patchcord.control;

import dev.patchcord.core.Cidr;
import dev.patchcord.core.Drop;
import dev.patchcord.core.assign.AddressMessage;
import dev.patchcord.core.assign.AddressPool;
import dev.patchcord.core.assign.AddressServer;
import dev.patchcord.core.assign.Lease;
import dev.patchcord.core.wg.Keys;
import dev.patchcord.core.wg.Node;
import dev.patchcord.core.wg.Peer;
import dev.patchcord.device.WgTunnel;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The server side of address assignment in a running tunnel ({@code [Pool]}): answers control
 * messages with {@link AddressServer}, keeps each lease's addresses as its peer's allowed IPs,
 * saves the leases with {@link LeaseStore} (a new or moved lease before the answer goes out), and
 * frees leases of peers that went away. Called from the receive threads and the timer thread.
 */
public final class AddressService implements WgTunnel.ControlHandler {
    private static final long SWEEP_NANOS = 2_000_000_000L;

    private final WgTunnel tunnel;
    private final Node node;
    private final AddressServer server;
    private final LeaseStore store;
    private final long deadPeerNanos;
    private final String label;
    private final PrintStream err;
    private final long startedNanos = System.nanoTime();
    private long nextSweep = startedNanos;
    /** A renewal moved a lease's end; saved on the next sweep (a renewing peer is alive anyway). */
    private boolean dirty;

    public AddressService(WgTunnel tunnel, AddressServer server, LeaseStore store, long deadPeerSeconds,
                          String label, PrintStream err) {
        this.tunnel = tunnel;
        this.node = tunnel.node();
        this.server = server;
        this.store = store;
        this.deadPeerNanos = deadPeerSeconds * 1_000_000_000L;
        this.label = label;
        this.err = err;
    }

    /**
     * {@code [Pool]}: leases addresses to the peers, keeping the leases in the lease file, which
     * is read now.
     *
     * @throws InterfaceSession.Failure for a pool that cannot be made or leases that cannot be read
     */
    public static AddressService fromPool(WgConfig config, String ifname, WgTunnel tunnel, PrintStream err) {
        WgInterfaceSection iface = config.interfaceSection();
        Node node = tunnel.node();
        PoolSection ps = iface.pool();
        List<Cidr> ranges = ps.ranges();
        // Never lease the server's own addresses, nor anything inside a peer's fixed AllowedIPs.
        List<Cidr> reserved = new ArrayList<>();
        for (Cidr a : iface.addresses()) {
            reserved.add(new Cidr(a.address(), a.isIpv4() ? 32 : 128));
        }
        Set<String> fixed = new HashSet<>();
        for (WgPeerSection p : config.peers()) {
            for (Cidr c : p.allowedIps()) {
                for (Cidr r : ranges) {
                    if (r.isIpv4() == c.isIpv4() && (r.contains(c.address()) || c.contains(r.address()))) {
                        fixed.add(Keys.toBase64(p.publicKey()));
                        if (c.prefix() >= r.prefix()) {
                            reserved.add(c);
                        }
                    }
                }
            }
        }
        AddressPool pool;
        try {
            pool = new AddressPool(ps.v4Range(), ps.v6Prefix(), reserved, ps.leaseSeconds(), ps.routes());
        } catch (IllegalArgumentException e) {
            throw new InterfaceSession.Failure(config.source() + ": [Pool]: " + e.getMessage());
        }
        AddressServer server = new AddressServer(pool,
                key -> node.peer(key) != null && !fixed.contains(Keys.toBase64(key)));
        Path leaseFile = ps.leaseFile(ifname);
        AddressService service = new AddressService(tunnel, server, new LeaseStore(leaseFile), ps.deadPeerSeconds(),
                ifname, err);
        try {
            if (leaseFile.toAbsolutePath().getParent() != null) {
                Files.createDirectories(leaseFile.toAbsolutePath().getParent());
            }
            service.restore();
        } catch (IOException e) {
            throw new InterfaceSession.Failure("cannot read the leases in " + leaseFile + ": " + e.getMessage());
        }
        return service;
    }

    private static long nowEpoch() {
        return System.currentTimeMillis() / 1000;
    }

    /** Loads the saved leases into the pool and gives configured peers their leased addresses back. */
    public synchronized void restore() throws IOException {
        LeaseStore.Loaded loaded = store.load();
        for (ConfigException problem : loaded.problems()) {
            err.println("patchcord: " + label + ": " + problem.getMessage());
        }
        for (String problem : server.pool().restore(loaded.leases())) {
            err.println("patchcord: " + label + ": " + store.file() + ": " + problem);
        }
        int restored = 0;
        for (Lease l : server.pool().leases()) {
            Peer p = node.peer(l.publicKey());
            if (p != null) {
                install(p, l);
                restored++;
            }
        }
        if (!loaded.leases().isEmpty()) {
            err.println("patchcord: " + label + ": " + restored + " lease" + (restored == 1 ? "" : "s")
                    + " restored from " + store.file());
        }
    }

    @Override
    public void handle(Peer from, AddressMessage message) {
        Optional<AddressMessage> answer;
        synchronized (this) {
            byte[] key = from.publicKey();
            Optional<Lease> before = server.pool().lease(key);
            answer = server.handle(key, message, nowEpoch());
            if (answer.isEmpty() && !(message instanceof AddressMessage.Release)) {
                node.counters().drop(Drop.UNEXPECTED_CONTROL);
            }
            Optional<Lease> after = server.pool().lease(key);
            if (!before.equals(after)) {
                if (!sameAddresses(before, after)) {
                    before.ifPresent(l -> uninstall(from, l));
                    after.ifPresent(l -> install(from, l));
                    save(); // before the answer: a restart must not give this address to another peer
                } else {
                    dirty = true;
                }
            }
        }
        answer.ifPresent(a -> tunnel.sendControl(from, a));
    }

    /** Every few seconds: frees the leases whose term ended and whose peer is silent, and saves. */
    public void tick() {
        long now = System.nanoTime();
        synchronized (this) {
            if (now - nextSweep < 0) {
                return;
            }
            nextSweep = now + SWEEP_NANOS;
            List<Lease> freed = server.pool().expire(nowEpoch(), key -> alive(key, now));
            for (Lease l : freed) {
                Peer p = node.peer(l.publicKey());
                if (p != null) {
                    uninstall(p, l);
                }
                err.println("patchcord: " + label + ": lease of " + addresses(l) + " to " + l.keyText().substring(0, 8)
                        + "… ended (peer silent)");
            }
            if (!freed.isEmpty() || dirty) {
                save();
            }
        }
    }

    /** A peer is alive if it sent something authenticated within the dead-peer timeout (or we started since). */
    private boolean alive(byte[] key, long now) {
        Peer p = node.peer(key);
        if (p == null) {
            return false;
        }
        long last = Math.max(p.lastReceivedNanos(), startedNanos);
        return now - last < deadPeerNanos;
    }

    private void save() {
        try {
            store.save(server.pool().leases());
            dirty = false;
        } catch (IOException e) {
            err.println("patchcord: " + label + ": cannot save leases to " + store.file() + ": " + e.getMessage());
        }
    }

    private void install(Peer p, Lease l) {
        for (Cidr c : hostRoutes(l)) {
            node.allowedIps().add(c, p);
        }
    }

    private void uninstall(Peer p, Lease l) {
        for (Cidr c : hostRoutes(l)) {
            node.allowedIps().remove(c, p);
        }
    }

    private static List<Cidr> hostRoutes(Lease l) {
        List<Cidr> out = new ArrayList<>();
        l.v4().ifPresent(a -> out.add(new Cidr(a, 32)));
        l.v6().ifPresent(a -> out.add(new Cidr(a, 128)));
        return out;
    }

    private static boolean sameAddresses(Optional<Lease> a, Optional<Lease> b) {
        return a.isPresent() && b.isPresent() && a.get().v4().equals(b.get().v4()) && a.get().v6().equals(b.get().v6());
    }

    private static String addresses(Lease l) {
        List<String> out = new ArrayList<>();
        l.v4().map(Cidr::format).ifPresent(out::add);
        l.v6().map(Cidr::format).ifPresent(out::add);
        return String.join(", ", out);
    }

    /** For tests and status: the pool's leases. */
    public List<Lease> leases() {
        return server.pool().leases();
    }

}
