package dev.patchcord.cli;

import dev.patchcord.cluster.ClusterClient;
import dev.patchcord.cluster.ClusterStore;
import dev.patchcord.cluster.EtcdClusterStore;
import dev.patchcord.cluster.StoreException;
import dev.patchcord.cluster.StoreSettings;
import dev.patchcord.control.AddressPicker;
import dev.patchcord.control.WgConfig;
import dev.patchcord.control.WgPeerSection;
import dev.patchcord.core.Cidr;
import dev.patchcord.core.wg.Keys;
import dev.patchcord.core.wg.X25519;

import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * {@code patchcord peer add|remove|list} for a server whose file has {@code Store}: the clients
 * live in the cluster's shared store (docs/cluster.md), addresses are leased there by
 * {@link ClusterStore#allocate}, so any number of adds on any hosts at once never give one
 * address twice. Neither the server's file nor a running interface is touched: the hubs apply
 * the store's changes from their watch.
 */
final class ClusterPeers {
    /**
     * Addresses offered to one allocation beyond those leased when the store was read: enough
     * for that many adds racing this one, each of which can take at most one of them.
     */
    static final int CANDIDATES = 64;
    /** Fresh reads of the leases before giving up, when racing adds took every candidate. */
    static final int ROUNDS = 4;

    /** The environment variable that sets the store's call timeout of the command line, in milliseconds. */
    static final String TIMEOUT_ENV = "PATCHCORD_STORE_TIMEOUT_MS";

    private final ClusterStore store;
    private final StoreSettings settings;

    ClusterPeers(ClusterStore store, StoreSettings settings) {
        this.store = store;
        this.settings = settings;
    }

    /** Something done with an open store. */
    interface Action<T> {
        T run(ClusterPeers peers) throws StoreException, IOException;
    }

    /**
     * Opens the store, runs {@code action} and closes the store; a store that fails (down,
     * unreachable, refusing) becomes one line naming the cluster, as {@code cluster status} says it.
     */
    static <T> T with(StoreSettings settings, Action<T> action) throws IOException {
        ClusterStore store;
        try {
            store = open(settings);
        } catch (StoreException e) {
            throw failed(settings, e);
        }
        try (store) {
            return run(store, settings, action);
        }
    }

    /**
     * Opens the store with the default call timeout, or {@value #TIMEOUT_ENV} milliseconds. The
     * first request of a command also starts the etcd client (its channel, its threads): on a host
     * busy enough that this takes seconds, the default would call a live store dead.
     */
    static ClusterStore open(StoreSettings settings) throws StoreException {
        String v = System.getenv(TIMEOUT_ENV);
        if (v == null || v.isBlank()) {
            return ClusterStore.open(settings);
        }
        long ms;
        try {
            ms = Long.parseLong(v.strip());
        } catch (NumberFormatException e) {
            ms = -1;
        }
        if (ms < 1 || ms > 600_000) {
            throw new UserError(TIMEOUT_ENV + "=" + v + " is not 1-600000 (milliseconds)");
        }
        return EtcdClusterStore.connect(settings, Duration.ofMillis(ms), ClusterStore.DEFAULT_LEASE_TTL_SECONDS);
    }

    /** Runs {@code action} on an open store, its failure as one line. */
    static <T> T run(ClusterStore store, StoreSettings settings, Action<T> action) throws IOException {
        try {
            return action.run(new ClusterPeers(store, settings));
        } catch (StoreException e) {
            throw failed(settings, e);
        }
    }

    private static UserError failed(StoreSettings settings, StoreException e) {
        return new UserError("cluster " + settings.cluster() + ": " + e.getMessage());
    }

    /** Where the clients are, for messages: "cluster office in etcd at HOST:PORT, …". */
    String where() {
        return "cluster " + settings.cluster() + " in etcd at " + String.join(", ", settings.endpoints());
    }

    static int add(PeerCommand.Add a, WgConfig config, StoreSettings settings) throws IOException {
        var iface = config.interfaceSection();
        String serverEndpoint = a.serverEndpoint(iface.publicEndpoint(), iface.listenPort());
        List<Cidr> subnets = iface.addresses();
        List<Cidr> taken = localTaken(config);
        List<Cidr> chosen = a.chosenAddresses(taken);
        List<Cidr> routed = a.routed(subnets);
        byte[] privateKey = X25519.generatePrivate(PeerCommand.RANDOM);
        byte[] publicKey = X25519.publicKey(privateKey);
        byte[] psk = a.newPsk();
        return with(settings, peers -> {
            List<Cidr> mine = peers.add(a.name, publicKey, psk, subnets, taken, chosen);
            String hosts = String.join(", ", mine.stream().map(Cidr::toString).toList());
            a.print(iface.privateKey(), privateKey, psk, mine, routed, serverEndpoint,
                    "added " + a.name + " (" + hosts + ") to " + peers.where() + "; the hubs take it from there");
            return 0;
        });
    }

    static int remove(StoreSettings settings, String name) throws IOException {
        return with(settings, peers -> {
            List<InetAddress> released = peers.remove(name);
            System.err.println("patchcord: removed " + name + " from " + peers.where()
                    + (released.isEmpty() ? "" : "; released " + String.join(", ", released.stream().map(Cidr::format).toList())));
            return 0;
        });
    }

    static int list(StoreSettings settings) throws IOException {
        return with(settings, peers -> {
            for (ClusterClient c : peers.store.listClients().clients()) {
                System.out.println(line(c));
            }
            return 0;
        });
    }

    /** One client as {@code peer list} shows a [Peer] of a file: name, public key, allowed IPs. */
    static String line(ClusterClient c) {
        return (c.name().isEmpty() ? "-" : c.name()) + "\t" + Keys.toBase64(c.publicKey()) + "\t"
                + String.join(", ", c.allowedIps().stream().map(Cidr::toString).toList());
    }

    /**
     * What the store cannot know is taken: the server's own addresses (every hub of a cluster has
     * the same ones) and whatever a [Peer] of its file holds.
     */
    static List<Cidr> localTaken(WgConfig config) {
        List<Cidr> taken = new ArrayList<>();
        for (Cidr own : config.interfaceSection().addresses()) {
            taken.add(new Cidr(own.address(), own.bits()));
        }
        for (WgPeerSection p : config.peers()) {
            taken.addAll(p.allowedIps());
        }
        return taken;
    }

    /**
     * Adds a client: its name must be free in the store; it gets an address in each subnet (or
     * exactly {@code chosen}), then its record. If anything fails after an address was leased,
     * the leases are given back, so a failed add leaves nothing behind.
     *
     * @param chosen the addresses given with --address, or null to pick
     * @return the client's host prefixes, which are also its allowed IPs on the hubs
     */
    List<Cidr> add(String name, byte[] publicKey, byte[] psk, List<Cidr> subnets, List<Cidr> taken, List<Cidr> chosen)
            throws StoreException {
        // A check, not a lock: two adds of one name at the same moment may both pass it.
        if (!byName(name).isEmpty()) {
            throw new UserError("a client named '" + name + "' is already in " + where());
        }
        List<InetAddress> leased = new ArrayList<>();
        try {
            List<Cidr> mine = chosen != null ? claimChosen(publicKey, chosen, leased) : claimAuto(publicKey, subnets, taken, leased);
            store.putClient(new ClusterClient(publicKey, name, mine, psk));
            return mine;
        } catch (StoreException | RuntimeException e) {
            List<InetAddress> kept = releaseAll(publicKey, leased);
            if (!kept.isEmpty() && e instanceof StoreException) {
                throw new StoreException(e.getMessage() + " (" + kept.stream().map(Cidr::format).toList()
                        + " could not be given back and stay leased to the unused key)", e);
            }
            throw e;
        }
    }

    private List<Cidr> claimChosen(byte[] publicKey, List<Cidr> chosen, List<InetAddress> leased) throws StoreException {
        for (Cidr host : chosen) {
            if (store.allocate(publicKey, List.of(host.address())).isEmpty()) {
                throw new UserError(Cidr.format(host.address()) + " is taken in " + where());
            }
            leased.add(host.address());
        }
        return chosen;
    }

    private List<Cidr> claimAuto(byte[] publicKey, List<Cidr> subnets, List<Cidr> taken, List<InetAddress> leased)
            throws StoreException {
        if (subnets.isEmpty()) {
            throw new UserError("the server has no Address to pick from: give --address");
        }
        List<Cidr> mine = new ArrayList<>();
        for (Cidr subnet : subnets) {
            if (subnet.prefix() == subnet.bits()) {
                continue; // a single-host address has no room for clients
            }
            InetAddress got = claimIn(publicKey, subnet, taken);
            leased.add(got);
            mine.add(host(got));
        }
        if (mine.isEmpty()) {
            throw new UserError("the server's addresses are single hosts: give --address");
        }
        return mine;
    }

    /** One address of {@code subnet}: the lowest free candidates, read again if racing adds took them all. */
    private InetAddress claimIn(byte[] publicKey, Cidr subnet, List<Cidr> taken) throws StoreException {
        for (int round = 0; round < ROUNDS; round++) {
            List<Cidr> skip = new ArrayList<>(taken);
            store.leases().keySet().forEach(a -> skip.add(host(a)));
            List<InetAddress> candidates = AddressPicker.candidates(subnet, skip, CANDIDATES);
            if (candidates.isEmpty()) {
                throw new UserError("no free address left in " + subnet.network() + " in " + where());
            }
            Optional<InetAddress> got = store.allocate(publicKey, candidates);
            if (got.isPresent()) {
                return got.get();
            }
        }
        throw new UserError("other clients being added at the same time took every address tried in "
                + subnet.network() + "; try again");
    }

    /** Gives back what an add leased; the addresses it could not (the store failing meanwhile). */
    private List<InetAddress> releaseAll(byte[] publicKey, List<InetAddress> leased) {
        List<InetAddress> kept = new ArrayList<>();
        for (InetAddress a : leased) {
            try {
                store.release(publicKey, a);
            } catch (StoreException e) {
                kept.add(a);
            }
        }
        return kept;
    }

    /**
     * Removes every client of this name (two adds racing may have given one name twice) and
     * releases every address each of them holds: what its lease keys say, not just its allowed IPs.
     *
     * @return the released addresses
     */
    List<InetAddress> remove(String name) throws StoreException {
        List<ClusterClient> found = byName(name);
        if (found.isEmpty()) {
            throw new UserError("no client named '" + name + "' in " + where());
        }
        List<InetAddress> released = new ArrayList<>();
        for (ClusterClient c : found) {
            released.addAll(store.removeClientAndLeases(c.publicKey()));
        }
        return released;
    }

    /** The store's clients of this name. */
    List<ClusterClient> byName(String name) throws StoreException {
        return store.listClients().clients().stream().filter(c -> c.name().equals(name)).toList();
    }

    private static Cidr host(InetAddress a) {
        return new Cidr(a, a instanceof Inet4Address ? 32 : 128);
    }
}
