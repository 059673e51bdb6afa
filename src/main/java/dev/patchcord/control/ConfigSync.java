package dev.patchcord.control;

import dev.patchcord.core.Cidr;
import dev.patchcord.core.wg.Keys;
import dev.patchcord.core.wg.X25519;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * What a running interface must be told to match a configuration file, as the body of one UAPI
 * {@code set} (the {@code wg syncconf} idea): peers the file no longer has are removed, new ones
 * added, and changed ones updated in place, so every peer that did not change keeps its session
 * and its roamed endpoint. Only the WireGuard part of the file applies; {@link #restartNeeded}
 * names the interface settings that do not change without a restart.
 *
 * @param body the lines after {@code set=1}, each ending in a newline; empty if nothing changes
 * @param added peers new to the interface
 * @param removed peers taken off it
 * @param changed peers updated in place
 */
public record ConfigSync(String body, int added, int removed, int changed) {

    /**
     * @param desired the file
     * @param current the interface now ({@link UapiDevice#get})
     * @param keep keys of peers to leave alone even though the file does not have them (peers that
     *             came from elsewhere: a peers file, a directory, {@code wg set}); empty for
     *             {@code wg syncconf}'s rule, where the file's peers are all there will be
     * @throws ConfigException if an endpoint's host name cannot be looked up
     */
    public static ConfigSync plan(WgConfig desired, UapiDevice.DeviceState current, Set<String> keep)
            throws ConfigException {
        StringBuilder sb = new StringBuilder();
        WgInterfaceSection iface = desired.interfaceSection();
        // The interface reports its key clamped; a file may hold the same key unclamped.
        if (!Arrays.equals(X25519.clamp(iface.privateKey()), current.privateKey())) {
            sb.append("private_key=").append(Keys.toHex(iface.privateKey())).append('\n');
        }
        if (iface.listenPort() != null && iface.listenPort() != current.listenPort()) {
            sb.append("listen_port=").append(iface.listenPort()).append('\n');
        }
        int fwmark = iface.fwMark() == null ? 0 : iface.fwMark();
        if (fwmark != current.fwmark()) {
            sb.append("fwmark=").append(Integer.toUnsignedString(fwmark)).append('\n');
        }
        Set<String> wanted = new HashSet<>();
        for (WgPeerSection p : desired.peers()) {
            wanted.add(p.publicKeyBase64());
        }
        int removed = 0;
        for (UapiDevice.PeerState p : current.peers()) {
            String key = Keys.toBase64(p.publicKey());
            // A cluster hub's clients come from the store, not the file: a file without them
            // must not take them off (nor, through the hub, out of the whole cluster).
            if (!wanted.contains(key) && !keep.contains(key) && !p.extensions().containsKey(ClusterUapiDevice.CLUSTER)) {
                sb.append("public_key=").append(Keys.toHex(p.publicKey())).append("\nremove=true\n");
                removed++;
            }
        }
        int added = 0;
        int changed = 0;
        for (WgPeerSection p : desired.peers()) {
            UapiDevice.PeerState now = find(current, p.publicKey());
            String update = peerUpdate(desired.source(), p, now);
            if (!update.isEmpty()) {
                sb.append("public_key=").append(Keys.toHex(p.publicKey())).append('\n').append(update);
                if (now == null) {
                    added++;
                } else {
                    changed++;
                }
            }
        }
        return new ConfigSync(sb.toString(), added, removed, changed);
    }

    /** The lines that bring {@code now} (null: a new peer) to what the file says; empty if it is already so. */
    private static String peerUpdate(String source, WgPeerSection p, UapiDevice.PeerState now) throws ConfigException {
        StringBuilder sb = new StringBuilder();
        byte[] psk = p.presharedKey() == null ? new byte[32] : p.presharedKey();
        byte[] nowPsk = now == null || now.presharedKey() == null ? new byte[32] : now.presharedKey();
        if (now == null ? p.presharedKey() != null : !Arrays.equals(psk, nowPsk)) {
            sb.append("preshared_key=").append(Keys.toHex(psk)).append('\n');
        }
        boolean sameList = p.endpoints().size() > 1 && now != null
                && p.endpointsText().equals(now.extensions().get(WgUapiDevice.ENDPOINTS));
        // A list the interface already has stays, on whichever entry it is using. A new list cannot
        // go through the UAPI, which carries one endpoint: the peer is pointed at its first entry.
        if (p.endpoint() != null && !sameList) {
            InetSocketAddress want = resolve(source, p.endpoint());
            if (now == null || !want.equals(now.endpoint())) {
                sb.append("endpoint=").append(UapiProtocol.formatEndpoint(want)).append('\n');
            }
        }
        int keepalive = p.persistentKeepalive();
        if (now == null ? keepalive != 0 : keepalive != now.persistentKeepalive()) {
            sb.append("persistent_keepalive_interval=").append(keepalive).append('\n');
        }
        List<Cidr> ips = p.allowedIps();
        if (now == null ? !ips.isEmpty() : !Set.copyOf(ips).equals(Set.copyOf(now.allowedIps()))) {
            sb.append("replace_allowed_ips=true\n");
            for (Cidr c : ips) {
                sb.append("allowed_ip=").append(c).append('\n');
            }
        }
        if (now == null && sb.isEmpty()) {
            sb.append("replace_allowed_ips=true\n"); // a peer with nothing set is still a new peer
        }
        return sb.toString();
    }

    private static UapiDevice.PeerState find(UapiDevice.DeviceState state, byte[] key) {
        for (UapiDevice.PeerState p : state.peers()) {
            if (Arrays.equals(p.publicKey(), key)) {
                return p;
            }
        }
        return null;
    }

    private static InetSocketAddress resolve(String source, Endpoint e) throws ConfigException {
        try {
            return new InetSocketAddress(InetAddress.getByName(e.host()), e.port());
        } catch (UnknownHostException ex) {
            throw new ConfigException(source, 0, "Endpoint " + e + ": the host name cannot be looked up");
        }
    }

    /**
     * The [Interface] settings that differ between two versions of a file and take a restart to
     * apply (addresses, MTU, routes, DNS, hooks, mode, transport); empty if none.
     */
    public static List<String> restartNeeded(WgInterfaceSection before, WgInterfaceSection after) {
        List<String> out = new java.util.ArrayList<>();
        check(out, "Address", before.addresses(), after.addresses());
        check(out, "MTU", before.mtu(), after.mtu());
        check(out, "Table", before.table(), after.table());
        check(out, "DNS", before.dns(), after.dns());
        check(out, "PreUp/PostUp/PreDown/PostDown",
                List.of(before.preUp(), before.postUp(), before.preDown(), before.postDown()),
                List.of(after.preUp(), after.postUp(), after.preDown(), after.postDown()));
        check(out, "Mode", before.tap(), after.tap());
        check(out, "Transport", before.transport(), after.transport());
        check(out, "Hub/ClientIsolation", List.of(before.hub(), before.clientIsolation()),
                List.of(after.hub(), after.clientIsolation()));
        check(out, "[Pool]", before.pool(), after.pool());
        check(out, "Offloads", before.offloads(), after.offloads());
        check(out, "Metrics", before.metrics(), after.metrics());
        check(out, "Store/Cluster/StoreCA/StoreCert/StoreKey", before.store(), after.store());
        return out;
    }

    private static void check(List<String> out, String name, Object a, Object b) {
        if (!java.util.Objects.equals(a, b)) {
            out.add(name);
        }
    }
}
