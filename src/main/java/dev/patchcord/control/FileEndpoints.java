package dev.patchcord.control;

import dev.patchcord.device.EndpointList;
import dev.patchcord.device.PeerAddress;

import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;

/**
 * Where a peer of the file is at the start: its Endpoint lines turned into a {@link PeerAddress},
 * host names looked up now (as wg-quick does), so that an endpoint that cannot be reached at all
 * stops the start with a clear message rather than leaving a peer that never answers.
 */
final class FileEndpoints {

    private final String ifname;
    /** Where an entry of a list that cannot be looked up yet is told. */
    private final PrintStream err;

    FileEndpoints(String ifname, PrintStream err) {
        this.ifname = ifname;
        this.err = err;
    }

    /**
     * The peer's address: its one Endpoint, none, or its list of them.
     *
     * @throws InterfaceSession.Failure for a host name that cannot be looked up (every one, for a list)
     */
    PeerAddress of(WgPeerSection peer) {
        return peer.endpoints().size() > 1 ? endpointList(peer.endpoints()) : peerAddress(peer.endpoint());
    }

    /** A peer with one Endpoint (or none). */
    private static PeerAddress peerAddress(Endpoint endpoint) {
        PeerAddress address = new PeerAddress(endpoint == null ? null : socketAddress(endpoint), true);
        if (endpoint != null && endpoint.literal().isEmpty()) {
            // A host name: looked up again when handshakes to it fail (the host may have moved).
            address.setHost(endpoint.host(), endpoint.port());
        }
        return address;
    }

    /**
     * A peer with a list of endpoints. Every host name is looked up now, as a lone one is; one that
     * cannot be is only a warning, since the others are there to stand in for it, and it is looked
     * up again when its turn comes. The peer starts on the first entry with an address.
     */
    private PeerAddress endpointList(List<Endpoint> list) {
        List<EndpointList.Entry> entries = new ArrayList<>();
        List<InetSocketAddress> addresses = new ArrayList<>();
        int start = -1;
        InterfaceSession.Failure first = null;
        for (Endpoint e : list) {
            entries.add(new EndpointList.Entry(e.toString(), e.literal().isEmpty() ? e.host() : null, e.port()));
            InetSocketAddress a = null;
            try {
                a = socketAddress(e);
            } catch (InterfaceSession.Failure f) {
                first = first == null ? f : first;
                err.println("patchcord: " + ifname + ": Endpoint " + e + ": " + f.getMessage()
                        + "; trying it again when its turn comes");
            }
            addresses.add(a);
            if (a != null && start < 0) {
                start = addresses.size() - 1;
            }
        }
        if (start < 0) {
            throw first; // not one of them: as for a lone endpoint, the tunnel cannot start
        }
        PeerAddress address = new PeerAddress(null, true);
        address.setList(new EndpointList(entries, addresses, start));
        return address;
    }

    /** A peer's Endpoint as a socket address; a host name is looked up now. */
    private static InetSocketAddress socketAddress(Endpoint endpoint) {
        String host = endpoint.host(); // never empty: Endpoint refuses that
        try {
            return new InetSocketAddress(InetAddress.getByName(host), endpoint.port());
        } catch (java.net.UnknownHostException e) {
            throw new InterfaceSession.Failure("cannot resolve host '" + host + "'");
        } catch (IllegalArgumentException e) {
            throw new InterfaceSession.Failure("'" + host + "' is not a valid address");
        }
    }
}
