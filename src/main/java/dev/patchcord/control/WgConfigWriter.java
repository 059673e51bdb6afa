package dev.patchcord.control;

import dev.patchcord.core.Cidr;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Base64;
import java.util.List;
import java.util.stream.Collectors;

/**
 * {@code SaveConfig = true}: at shutdown the running state (keys, port, peers with their current
 * endpoints and allowed IPs, including those changed with {@code wg set}) is written back into the
 * configuration file, with the file's own [Interface] settings kept, as wg-quick does. A peer's
 * list of endpoints is written as configured, not as the one in use. The file is replaced
 * atomically and stays readable by its owner only.
 */
public final class WgConfigWriter {
    private WgConfigWriter() {}

    public static String render(WgInterfaceSection iface, UapiDevice.DeviceState state) {
        Base64.Encoder b64 = Base64.getEncoder();
        StringBuilder sb = new StringBuilder("[Interface]\n");
        line(sb, "Address", join(iface.addresses()));
        if (iface.addressMode() == AddressMode.AUTO) {
            line(sb, "Address", "auto" + iface.requestedAddresses().stream().map(x -> ", " + Cidr.format(x))
                    .collect(Collectors.joining()));
        }
        line(sb, "DNS", String.join(", ", iface.dns()));
        line(sb, "MTU", iface.mtu() == null ? "" : iface.mtu().toString());
        line(sb, "Table", iface.table() == null ? "" : iface.table().word());
        iface.preUp().forEach(c -> line(sb, "PreUp", c));
        iface.postUp().forEach(c -> line(sb, "PostUp", c));
        iface.preDown().forEach(c -> line(sb, "PreDown", c));
        iface.postDown().forEach(c -> line(sb, "PostDown", c));
        if (iface.transport() != TransportMode.UDP) {
            line(sb, "Transport", iface.transport().word());
        }
        if (iface.tap()) {
            line(sb, "Mode", "tap");
        }
        if (iface.hub()) {
            line(sb, "Hub", "true");
        }
        if (iface.clientIsolation()) {
            line(sb, "ClientIsolation", "true");
        }
        if (iface.offloads() != null) {
            line(sb, "Offloads", iface.offloads());
        }
        if (iface.metrics() != null) {
            line(sb, "Metrics", iface.metrics());
        }
        if (iface.publicEndpoint() != null) {
            line(sb, "PublicEndpoint", iface.publicEndpoint());
        }
        dev.patchcord.cluster.StoreSettings store = iface.store();
        if (store != null) {
            line(sb, "Store", "etcd://" + String.join(",", store.endpoints()));
            line(sb, "Cluster", store.cluster());
            line(sb, "StoreCA", store.caFile() == null ? "" : store.caFile());
            line(sb, "StoreCert", store.certFile() == null ? "" : store.certFile());
            line(sb, "StoreKey", store.keyFile() == null ? "" : store.keyFile());
            line(sb, "HubId", store.hubId() == null ? "" : store.hubId());
            line(sb, "Backplane", store.backplane() == null ? "" : store.backplane());
        }
        MeshSettings mesh = iface.mesh();
        if (mesh != null) {
            line(sb, "PeersFile", mesh.peersFile() == null ? "" : mesh.peersFile());
            if (mesh.directory() != null) {
                line(sb, "Directory", mesh.directory().toString());
                line(sb, "DirectoryKey", b64.encodeToString(mesh.directoryKey()));
                line(sb, "DirectoryInterval", Integer.toString(mesh.directoryIntervalSeconds()));
                line(sb, "DirectoryCA", mesh.directoryCa() == null ? "" : mesh.directoryCa());
            }
        }
        line(sb, "SaveConfig", "true");
        if (state.privateKey() != null) {
            line(sb, "PrivateKey", b64.encodeToString(state.privateKey()));
        }
        line(sb, "ListenPort", state.listenPort() == 0 ? "" : Integer.toString(state.listenPort()));
        line(sb, "FwMark", state.fwmark() == 0 ? "" : "0x" + Integer.toHexString(state.fwmark()));
        PoolSection pool = iface.pool();
        if (pool != null) {
            sb.append("\n[Pool]\n");
            line(sb, "Range", join(pool.ranges()));
            line(sb, "LeaseTime", Long.toString(pool.leaseSeconds()));
            line(sb, "DeadPeerTimeout", Long.toString(pool.deadPeerSeconds()));
            line(sb, "Routes", join(pool.routes()));
            line(sb, "LeaseFile", pool.leaseFile() == null ? "" : pool.leaseFile());
        }
        for (UapiDevice.PeerState p : state.peers()) {
            sb.append("\n[Peer]\n");
            line(sb, "PublicKey", b64.encodeToString(p.publicKey()));
            if (p.presharedKey() != null) {
                line(sb, "PresharedKey", b64.encodeToString(p.presharedKey()));
            }
            line(sb, "AllowedIPs", join(p.allowedIps()));
            // A list of endpoints is written as configured, host names and all; one endpoint as it is now.
            String list = p.extensions().get(WgUapiDevice.ENDPOINTS);
            line(sb, "Endpoint", list != null ? list : p.endpoint() == null ? "" : UapiProtocol.formatEndpoint(p.endpoint()));
            line(sb, "PersistentKeepalive", p.persistentKeepalive() == 0 ? "" : Integer.toString(p.persistentKeepalive()));
        }
        return sb.toString();
    }

    private static String join(List<Cidr> cidrs) {
        return cidrs.stream().map(Cidr::toString).collect(Collectors.joining(", "));
    }

    private static void line(StringBuilder sb, String key, String value) {
        if (!value.isEmpty()) {
            sb.append(key).append(" = ").append(value).append('\n');
        }
    }

    /** Replaces {@code file} with {@code text} in one step, mode 0600. */
    public static void save(Path file, String text) throws IOException {
        Path tmp = file.resolveSibling("." + file.getFileName() + ".tmp");
        Files.deleteIfExists(tmp);
        Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(tmp, text);
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }
}
