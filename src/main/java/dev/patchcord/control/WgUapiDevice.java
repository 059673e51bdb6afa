package dev.patchcord.control;

import dev.patchcord.core.Counters;
import dev.patchcord.core.Drop;
import dev.patchcord.core.wg.Node;
import dev.patchcord.core.wg.Peer;
import dev.patchcord.device.EndpointList;
import dev.patchcord.device.PeerAddress;
import dev.patchcord.device.WgTunnel;
import dev.patchcord.sys.Linux;
import dev.patchcord.sys.SysException;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A running patchcord WireGuard interface as the UAPI sees it, so that {@code wg show}, {@code wg set},
 * {@code wg syncconf} and patchcord's own {@code show} work on it. Changes apply to the live node:
 * peers not named in a request keep their sessions.
 */
public final class WgUapiDevice implements UapiDevice {
    /**
     * The peer extension that lists a peer's endpoints when it has several ({@code a:51820, b:51820});
     * absent for one endpoint or none.
     */
    public static final String ENDPOINTS = "endpoints";

    private final Node node;
    private final WgTunnel tunnel;
    /** When the interface's first process started (epoch ms): earlier than this one's after a restart. */
    private volatile long interfaceStarted = PROCESS_STARTED;
    /** How many restarts handed this interface from one process to the next. */
    private volatile int handovers;
    /** When this process started (epoch ms). */
    private static final long PROCESS_STARTED = ProcessHandle.current().info().startInstant()
            .map(java.time.Instant::toEpochMilli).orElse(System.currentTimeMillis());

    /** The encoded path of the configuration file, or null when it cannot be reported. */
    private final String configFile;

    /**
     * @param configFile the file the interface was started from, reported in get replies
     *        ({@link UapiProtocol#CONFIG_FILE}) so that {@code patchcord peer} and {@code syncconf}
     *        find it by the interface's name; made absolute here, since those commands run in
     *        another working directory
     */
    public WgUapiDevice(Node node, WgTunnel tunnel, Path configFile) {
        this.node = node;
        this.tunnel = tunnel;
        this.configFile = UapiProtocol.encodePath(configFile.toAbsolutePath().toString()).orElse(null);
    }

    /**
     * Records that this process took the interface over from another (a restart): the interface
     * has been up since {@code interfaceStartedEpochMillis} and this was hand-over number
     * {@code handovers}. {@code show} reports both.
     */
    public void takenOver(long interfaceStartedEpochMillis, int handovers) {
        this.interfaceStarted = interfaceStartedEpochMillis;
        this.handovers = handovers;
    }

    /** When the interface's first process started (epoch ms), for the next hand-over. */
    public long interfaceStarted() {
        return interfaceStarted;
    }

    /** How many hand-overs this interface has had. */
    public int handovers() {
        return handovers;
    }

    /** Whether get replies name the configuration file (not for a path too long, or not UTF-8). */
    public boolean reportsConfigFile() {
        return configFile != null;
    }

    @Override
    public DeviceState get() {
        List<PeerState> peers = new ArrayList<>();
        for (Peer p : node.peers()) {
            PeerAddress endpoint = tunnel.endpoint(p);
            Map<String, String> ext = new LinkedHashMap<>();
            ext.put("rx_packets", Long.toString(p.rxPackets()));
            ext.put("tx_packets", Long.toString(p.txPackets()));
            EndpointList list = endpoint.list();
            if (list != null) {
                // The configured list, for SaveConfig and reloads; endpoint= stays the one in use.
                ext.put(ENDPOINTS, list.text());
            }
            peers.add(new PeerState(p.publicKey(), p.presharedKey(), endpoint.describe(),
                    p.lastHandshakeEpochNanos(), p.rxBytes(), p.txBytes(), p.persistentKeepalive(),
                    node.allowedIps().of(p), ext));
        }
        return new DeviceState(node.privateKey(), tunnel.socket().port(), tunnel.fwmark(), peers, extensions());
    }

    /** patchcord's own lines: the mode, the transport, the configuration file and every non-zero counter. */
    private Map<String, String> extensions() {
        Map<String, String> ext = new LinkedHashMap<>();
        ext.put("mode", "wireguard");
        ext.put("transport", "udp");
        ext.put("pid", Long.toString(ProcessHandle.current().pid()));
        ext.put("process_started", Long.toString(PROCESS_STARTED / 1000));
        ext.put("interface_started", Long.toString(interfaceStarted / 1000));
        ext.put("handovers", Integer.toString(handovers));
        if (configFile != null) {
            ext.put(UapiProtocol.CONFIG_FILE, configFile);
        }
        Counters c = node.counters();
        ext.put("rx_packets", Long.toString(c.rxPackets()));
        ext.put("tx_packets", Long.toString(c.txPackets()));
        for (Drop d : Drop.values()) {
            long n = c.dropped(d);
            if (n > 0) {
                ext.put("drop_" + d.label().replace('-', '_'), Long.toString(n));
            }
        }
        return ext;
    }

    @Override
    public void set(SetRequest request) throws UapiException {
        // 32 zero bytes remove the key, as in the kernel and wireguard-go: `wg setconf` of a file
        // with peers only sends them, and so does `wg set IF private-key /dev/null`. The interface
        // then keeps its peers and makes no handshakes until a key is set again.
        request.privateKey().ifPresent(node::setPrivateKey);
        if (request.listenPort().isPresent()) {
            try {
                tunnel.rebind(request.listenPort().getAsInt());
            } catch (SysException e) {
                throw new UapiException(e.errno() == Linux.EADDRINUSE ? UapiException.EADDRINUSE : UapiException.EIO,
                        e.getMessage());
            }
        }
        if (request.fwmark().isPresent()) {
            try {
                tunnel.setFwmark(request.fwmark().getAsInt());
            } catch (SysException e) {
                throw new UapiException(UapiException.EIO, e.getMessage());
            }
        }
        if (request.replacePeers()) {
            for (Peer p : List.copyOf(node.peers())) {
                node.removePeer(p);
            }
        }
        for (SetRequest.PeerChange change : request.peers()) {
            apply(change);
        }
    }

    private void apply(SetRequest.PeerChange change) throws UapiException {
        Peer peer = node.peer(change.publicKey());
        if (change.remove()) {
            if (peer != null) {
                node.removePeer(peer);
            }
            return;
        }
        if (peer == null) {
            if (change.updateOnly() || node.isOwnKey(change.publicKey())) {
                // Our own key as a peer is skipped without an error, as the kernel and wireguard-go
                // skip it: one list of peers can then be set on every member of a mesh.
                return;
            }
            try {
                peer = node.addPeer(change.publicKey(), null);
            } catch (IllegalArgumentException e) {
                throw new UapiException(UapiException.EINVAL, e.getMessage());
            }
        }
        Peer p = peer;
        change.presharedKey().ifPresent(k -> p.setPresharedKey(change.clearsPresharedKey() ? null : k));
        change.endpoint().ifPresent(e -> tunnel.endpoint(p).replace(e));
        if (change.replaceAllowedIps()) {
            node.allowedIps().removePeer(p);
        }
        for (SetRequest.AllowedIpChange a : change.allowedIps()) {
            if (a.remove()) {
                node.allowedIps().remove(a.cidr(), p);
            } else {
                node.allowedIps().add(a.cidr(), p);
            }
        }
        // Last, so that a keepalive sent at once (as wireguard-go does) already has its endpoint.
        change.persistentKeepalive().ifPresent(p::setPersistentKeepalive);
    }
}
