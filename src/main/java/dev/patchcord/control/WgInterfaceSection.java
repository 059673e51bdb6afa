package dev.patchcord.control;

import dev.patchcord.cluster.StoreSettings;
import dev.patchcord.core.Cidr;

import java.net.InetAddress;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * The {@code [Interface]} section of a wg-quick file: wg's own keys (PrivateKey, ListenPort,
 * FwMark) and the ones only wg-quick knows (Address, DNS, MTU, Table, the four hooks, SaveConfig).
 *
 * <p>The private key is copied in and out, so a caller cannot change it behind the record's back,
 * and {@link #toString()} never shows it: configurations end up in logs and bug reports.
 *
 * @param privateKey the 32-byte Curve25519 private key
 * @param listenPort UDP port to listen on, or null for a random one ({@code ListenPort} absent or 0)
 * @param addresses the interface's own addresses, host bits as written
 * @param mtu the MTU as written, or null when absent; {@link #mtuOrDefault()} applies
 *            {@value #DEFAULT_MTU}
 * @param dns DNS servers and search domains in file order, as wg-quick mixes them
 * @param table wg-quick's {@code Table}, or null when absent (which means what {@code auto} means;
 *              {@link #routes()} and {@link #routeTable()} say it)
 * @param preUp commands run before the interface is created, in file order (the same for the others)
 * @param fwMark the firewall mark as an unsigned 32-bit value ({@link Integer#toUnsignedLong}), or
 *               null when absent, 0 or "off" (0 means no mark to the kernel)
 * @param saveConfig whether wg-quick would save the running state back into the file on down
 * @param hub patchcord's {@code Hub}: forward packets between peers inside patchcord instead of
 *            handing them to the kernel to route
 * @param clientIsolation patchcord's {@code ClientIsolation}: drop packets from one peer to another
 * @param tap patchcord's {@code Mode = tap}: an Ethernet (TAP) interface instead of an IP (TUN) one
 * @param transport patchcord's {@code Transport} (UDP when absent)
 * @param pool patchcord's {@code [Pool]}: this interface leases addresses to clients; or null
 * @param addressMode where the addresses come from: {@link AddressMode#POOL} exactly when there is a
 *                    pool, {@link AddressMode#AUTO} with patchcord's {@code Address = auto}
 * @param requestedAddresses with {@code Address = auto, ADDRESS}: the particular addresses asked
 *                           for (at most one per family), without fallback
 * @param mesh patchcord's peers file and directory settings, or null
 * @param offloads patchcord's {@code Offloads} as written (see {@code dev.patchcord.device.Offloads}), or null for all
 * @param publicEndpoint patchcord's {@code PublicEndpoint}: where clients reach this server
 *                       (HOST:PORT), written into the configurations {@code patchcord peer add}
 *                       makes; or null
 * @param metrics patchcord's {@code Metrics}: where the Prometheus endpoint listens (HOST:PORT,
 *                localhost unless a host is given); or null for none
 * @param store patchcord's {@code Store}, {@code Cluster} and {@code StoreCA}/{@code StoreCert}/{@code StoreKey}:
 *              the etcd cluster shared by the hubs of one network, with this hub's id and backplane;
 *              or null (docs/cluster.md)
 */
public record WgInterfaceSection(byte[] privateKey, Integer listenPort, List<Cidr> addresses, Integer mtu,
        List<String> dns, RouteTable table, List<String> preUp, List<String> postUp, List<String> preDown,
        List<String> postDown, Integer fwMark, boolean saveConfig, boolean hub, boolean clientIsolation,
        boolean tap, TransportMode transport, PoolSection pool, AddressMode addressMode, List<InetAddress> requestedAddresses,
        MeshSettings mesh, String offloads, String publicEndpoint, String metrics, StoreSettings store) {

    /**
     * The MTU when the file gives none. wg-quick derives it from the route to the endpoints minus
     * 80 bytes (IPv6 and UDP and WireGuard headers); 1420 is that figure for the usual 1500-byte
     * path and the value the WireGuard kernel module itself starts with.
     */
    public static final int DEFAULT_MTU = 1420;

    /** Whether routes for the peers' allowed IPs are added at all ({@code Table = off}: none). */
    public boolean routes() {
        return table == null || table.routes();
    }

    /** The routing table the routes go into, or null for the main one (absent, {@code auto} or {@code off}). */
    public String routeTable() {
        return table == null ? null : table.kernelTable();
    }

    public WgInterfaceSection {
        privateKey = ConfigValues.checkKey(privateKey, "privateKey").clone();
        if (listenPort != null && (listenPort < 1 || listenPort > 65535)) {
            throw new IllegalArgumentException("listen port " + listenPort + " is out of range (1-65535)");
        }
        if (mtu != null && (mtu < ConfigValues.MIN_MTU || mtu > ConfigValues.MAX_MTU)) {
            throw new IllegalArgumentException("MTU " + mtu + " is out of range ("
                    + ConfigValues.MIN_MTU + "-" + ConfigValues.MAX_MTU + ")");
        }
        addresses = List.copyOf(addresses);
        dns = List.copyOf(dns);
        preUp = List.copyOf(preUp);
        postUp = List.copyOf(postUp);
        preDown = List.copyOf(preDown);
        postDown = List.copyOf(postDown);
        requestedAddresses = List.copyOf(requestedAddresses);
        Objects.requireNonNull(addressMode, "addressMode");
        if ((addressMode == AddressMode.POOL) != (pool != null)) {
            throw new IllegalArgumentException("address mode " + addressMode + " with" + (pool == null ? "out" : "")
                    + " a pool");
        }
        if (addressMode != AddressMode.AUTO && !requestedAddresses.isEmpty()) {
            throw new IllegalArgumentException("requested addresses need Address = auto");
        }
        if (fwMark != null && fwMark == 0) {
            fwMark = null;
        }
    }

    /** A copy of the private key. */
    @Override
    public byte[] privateKey() {
        return privateKey.clone();
    }

    /** The MTU to set: the one written, or {@value #DEFAULT_MTU}. */
    public int mtuOrDefault() {
        return mtu != null ? mtu : DEFAULT_MTU;
    }

    /** The DNS entries that are servers (wg-quick: only digits and dots, or any colon). */
    public List<String> dnsServers() {
        return dns.stream().filter(ConfigValues::isDnsServer).toList();
    }

    /** The DNS entries that are search domains (everything that is not a server). */
    public List<String> dnsSearchDomains() {
        return dns.stream().filter(d -> !ConfigValues.isDnsServer(d)).toList();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof WgInterfaceSection s && Arrays.equals(privateKey, s.privateKey)
                && Objects.equals(listenPort, s.listenPort) && addresses.equals(s.addresses)
                && Objects.equals(mtu, s.mtu) && dns.equals(s.dns) && Objects.equals(table, s.table)
                && preUp.equals(s.preUp) && postUp.equals(s.postUp) && preDown.equals(s.preDown)
                && postDown.equals(s.postDown) && Objects.equals(fwMark, s.fwMark) && saveConfig == s.saveConfig
                && Objects.equals(pool, s.pool) && addressMode == s.addressMode
                && requestedAddresses.equals(s.requestedAddresses) && Objects.equals(mesh, s.mesh) && Objects.equals(offloads, s.offloads)
                && Objects.equals(publicEndpoint, s.publicEndpoint) && Objects.equals(metrics, s.metrics)
                && Objects.equals(store, s.store);
    }

    @Override
    public int hashCode() {
        return Objects.hash(Arrays.hashCode(privateKey), listenPort, addresses, mtu, dns, table,
                preUp, postUp, preDown, postDown, fwMark, saveConfig);
    }

    /** Every field except the private key, which shows as {@code (hidden)}. */
    @Override
    public String toString() {
        return "[Interface] PrivateKey=(hidden)"
                + ", ListenPort=" + (listenPort == null ? "random" : listenPort)
                + ", Address=" + addresses
                + ", MTU=" + (mtu == null ? "default " + DEFAULT_MTU : mtu)
                + ", DNS=" + dns
                + ", Table=" + (table == null ? "auto" : table.word())
                + ", FwMark=" + (fwMark == null ? "off" : "0x" + Integer.toHexString(fwMark))
                + ", PreUp=" + preUp + ", PostUp=" + postUp + ", PreDown=" + preDown + ", PostDown=" + postDown
                + ", SaveConfig=" + saveConfig
                + (addressMode == AddressMode.AUTO ? ", Address=auto" + requestedAddresses.stream().map(a -> " " + Cidr.format(a)).toList() : "")
                + (pool != null ? ", Pool=" + pool : "")
                + (store != null ? ", Store=" + store.endpoints() + " Cluster=" + store.cluster() : "");
    }
}
