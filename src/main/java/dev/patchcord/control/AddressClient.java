package dev.patchcord.control;

import dev.patchcord.core.Cidr;
import dev.patchcord.core.Drop;
import dev.patchcord.core.assign.AddressMessage;
import dev.patchcord.core.assign.NakReason;
import dev.patchcord.core.wg.Peer;
import dev.patchcord.device.WgTunnel;

import java.io.PrintStream;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The client side of address assignment ({@code Address = auto}): asks the address server peer
 * for addresses, installs what it grants on the interface with the pushed routes its AllowedIPs
 * cover, renews at half the lease, and reports refusals. Driven by the timer tick and by the
 * answers the receive threads hand in; all state is guarded by this object.
 */
public final class AddressClient implements WgTunnel.ControlHandler {
    private static final long SECOND = 1_000_000_000L;

    private enum State { REQUESTING, BOUND, RENEWING, GAVE_UP }

    private final WgTunnel tunnel;
    private final Peer server;
    private final String ifname;
    private final Optional<InetAddress> wantV4;
    private final Optional<InetAddress> wantV6;
    private final boolean specific;
    private final List<Cidr> serverAllowedIps;
    private final boolean routes;
    private final String table;
    private final PrintStream err;
    private final Runnable refused;

    private State state = State.REQUESTING;
    private int requestId = ThreadLocalRandom.current().nextInt();
    private int sent;
    private long nextSend = System.nanoTime();
    private long renewAt;
    private long leaseEnd;
    private Optional<Cidr> v4 = Optional.empty();
    private Optional<Cidr> v6 = Optional.empty();
    private final List<Cidr> installedRoutes = new ArrayList<>();
    private boolean warnedRoutes;

    /**
     * @param requested particular addresses to ask for (no fallback); empty for any
     * @param serverAllowedIps the server peer's AllowedIPs: only pushed routes inside them are installed
     * @param routes whether pushed routes are installed at all ({@code Table = off}: not)
     * @param table the routing table for pushed routes (null: main)
     * @param refused run when a requested address is refused (the caller stops with exit code 1)
     */
    public AddressClient(WgTunnel tunnel, Peer server, String ifname, List<InetAddress> requested,
                         List<Cidr> serverAllowedIps, boolean routes, String table, PrintStream err, Runnable refused) {
        this.tunnel = tunnel;
        this.server = server;
        this.ifname = ifname;
        this.wantV4 = requested.stream().filter(a -> a instanceof Inet4Address).findFirst();
        this.wantV6 = requested.stream().filter(a -> !(a instanceof Inet4Address)).findFirst();
        this.specific = !requested.isEmpty();
        this.serverAllowedIps = List.copyOf(serverAllowedIps);
        this.routes = routes;
        this.table = table;
        this.err = err;
        this.refused = refused;
    }

    /** Called every timer tick: sends or re-sends what is due. */
    public void tick() {
        AddressMessage send = null;
        synchronized (this) {
            long now = System.nanoTime();
            if (state == State.BOUND && now - renewAt >= 0) {
                state = State.RENEWING;
                newExchange(now);
            }
            if (state == State.RENEWING && now - leaseEnd >= 0) {
                err.println("patchcord: " + ifname + ": lease ended without renewal; asking again");
                removeAll();
                state = State.REQUESTING;
                newExchange(now);
            }
            if ((state == State.REQUESTING || state == State.RENEWING) && now - nextSend >= 0) {
                send = current();
                sent++;
                nextSend = now + (sent < AddressMessage.RETRY_FAST_COUNT ? AddressMessage.RETRY_FAST_SECONDS
                        : AddressMessage.RETRY_SLOW_SECONDS) * SECOND;
            }
        }
        if (send != null) {
            tunnel.sendControl(server, send);
        }
    }

    private void newExchange(long now) {
        requestId = ThreadLocalRandom.current().nextInt();
        sent = 0;
        nextSend = now;
    }

    private AddressMessage current() {
        if (state == State.RENEWING) {
            return new AddressMessage.Renew(requestId, v4.map(Cidr::address), v6.map(Cidr::address));
        }
        return new AddressMessage.Request(requestId, true, true, wantV4, wantV6, !specific);
    }

    @Override
    public void handle(Peer from, AddressMessage message) {
        boolean giveUp = false;
        synchronized (this) {
            boolean waiting = state == State.REQUESTING || state == State.RENEWING;
            if (from != server || !waiting || message.requestId() != requestId) {
                tunnel.node().counters().drop(Drop.UNEXPECTED_CONTROL);
                return;
            }
            long now = System.nanoTime();
            switch (message) {
                case AddressMessage.Ack ack -> bind(ack, now);
                case AddressMessage.Nak nak -> {
                    NakReason reason = nak.reason();
                    err.println("patchcord: " + ifname + ": address refused: " + nak.text() + " (" + reason.label() + ")");
                    if (state == State.RENEWING) {
                        removeAll();
                        state = State.REQUESTING;
                        newExchange(now);
                    } else if (specific) {
                        state = State.GAVE_UP;
                        giveUp = true;
                    } else if (reason.retryable()) {
                        newExchange(now + AddressMessage.RETRY_SLOW_SECONDS * SECOND);
                        sent = AddressMessage.RETRY_FAST_COUNT;
                    } else {
                        state = State.GAVE_UP;
                    }
                }
                default -> tunnel.node().counters().drop(Drop.UNEXPECTED_CONTROL);
            }
        }
        if (giveUp) {
            refused.run();
        }
    }

    private void bind(AddressMessage.Ack ack, long now) {
        boolean changed = !ack.v4().equals(v4) || !ack.v6().equals(v6);
        if (changed) {
            removeAll();
            try {
                for (Cidr c : concat(ack.v4(), ack.v6())) {
                    NetConfig.addAddress(ifname, c);
                }
                v4 = ack.v4();
                v6 = ack.v6();
                installRoutes(ack.routes());
            } catch (NetConfig.NetConfigException e) {
                err.println("patchcord: " + ifname + ": cannot install the leased address: " + e.getMessage());
            }
            err.println("patchcord: " + ifname + ": address " + String.join(", ",
                    concat(ack.v4(), ack.v6()).stream().map(Cidr::toString).toList()) + " from the server (lease "
                    + ack.leaseSeconds() + " s)");
        }
        state = State.BOUND;
        leaseEnd = now + ack.leaseSeconds() * SECOND;
        renewAt = now + ack.leaseSeconds() * SECOND / 2;
    }

    private void installRoutes(List<Cidr> pushed) throws NetConfig.NetConfigException {
        if (!routes) {
            return;
        }
        List<Cidr> ok = new ArrayList<>();
        List<Cidr> refusedRoutes = new ArrayList<>();
        for (Cidr r : pushed) {
            boolean covered = serverAllowedIps.stream().anyMatch(a -> a.isIpv4() == r.isIpv4()
                    && a.prefix() <= r.prefix() && a.contains(r.address()));
            (covered ? ok : refusedRoutes).add(r);
        }
        if (!refusedRoutes.isEmpty() && !warnedRoutes) {
            warnedRoutes = true;
            err.println("patchcord: " + ifname + ": not routing " + refusedRoutes
                    + " pushed by the server (outside its AllowedIPs)");
        }
        NetConfig.addRoutes(ifname, ok, table);
        installedRoutes.addAll(ok);
    }

    /** Takes the leased addresses off the interface (their routes go with them or stay harmless). */
    private void removeAll() {
        for (Cidr c : concat(v4, v6)) {
            try {
                NetConfig.removeAddress(ifname, c);
            } catch (NetConfig.NetConfigException e) {
                err.println("patchcord: " + ifname + ": cannot remove " + c + ": " + e.getMessage());
            }
        }
        v4 = Optional.empty();
        v6 = Optional.empty();
    }

    private static List<Cidr> concat(Optional<Cidr> a, Optional<Cidr> b) {
        List<Cidr> out = new ArrayList<>();
        a.ifPresent(out::add);
        b.ifPresent(out::add);
        return out;
    }

    /** The addresses currently leased (for status and tests). */
    public synchronized List<Cidr> addresses() {
        return concat(v4, v6);
    }
}
