package dev.patchcord.control;

import dev.patchcord.cluster.StoreSettings;
import dev.patchcord.core.Cidr;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Reads the lines of a wg-quick file into {@link WgConfig}, following wg-quick's reading of it:
 *
 * <ul>
 *   <li>{@code #} starts a comment anywhere on a line, except in the four hook commands: wg-quick
 *       hands those to bash with everything after the first '=', so a '#' inside quotes survives.
 *   <li>Section names and keys are case-insensitive; white space around them is ignored, and wg's
 *       own values (keys, ports, AllowedIPs, Endpoint) lose all white space, as in wg.
 *   <li>Endpoint may list several endpoints, split at commas (patchcord's extension; a second
 *       Endpoint line replaces the list, as it replaces the one endpoint in wg).
 *   <li>Address, AllowedIPs and DNS add to their lists, split at commas and white space; each hook
 *       line adds one command. Any other key given twice keeps its last value, as in wg.
 * </ul>
 *
 * <p>patchcord is stricter than wg-quick where a mistake would otherwise surface later and
 * further from its cause: one [Interface] only, no unknown keys, no duplicate peers.
 */
final class WgConfigParser {
    private static final Set<String> INTERFACE_KEYS = Set.of("privatekey", "listenport", "fwmark", "address",
            "dns", "mtu", "table", "preup", "postup", "predown", "postdown", "saveconfig",
            // patchcord's own keys: a file using them is for patchcord only (wg-quick rejects them).
            "hub", "clientisolation", "mode", "transport",
            "peersfile", "directory", "directorykey", "directoryinterval", "directoryca", "offloads",
            "publicendpoint", "metrics", "store", "cluster", "storeca", "storecert", "storekey", "hubid", "backplane");
    /** patchcord's [Pool] section: an address server for clients with {@code Address = auto}. */
    private static final Set<String> POOL_KEYS = Set.of("range", "leasetime", "deadpeertimeout", "routes", "leasefile");
    private static final Set<String> PEER_KEYS = Set.of("publickey", "presharedkey", "allowedips", "endpoint",
            "persistentkeepalive");

    private final String source;
    private int lineNumber;
    private InterfaceDraft iface;
    private PeerDraft peer;
    private PoolDraft pool;
    private boolean inPool;
    private final List<PeerDraft> peers = new ArrayList<>();

    private WgConfigParser(String source) {
        this.source = source;
    }

    static WgConfig parse(String text, String source) throws ConfigException {
        return new WgConfigParser(source).run(text);
    }

    private WgConfig run(String text) throws ConfigException {
        if (text.startsWith("\uFEFF")) {
            text = text.substring(1);
        }
        for (String raw : (Iterable<String>) text.lines()::iterator) {
            lineNumber++;
            try {
                line(raw);
            } catch (IllegalArgumentException e) {
                throw fail(ConfigValues.hideKeys(e.getMessage()));
            }
        }
        return finish();
    }

    private void line(String raw) throws ConfigException {
        int hash = raw.indexOf('#');
        String content = (hash < 0 ? raw : raw.substring(0, hash)).strip();
        if (content.isEmpty()) {
            return;
        }
        if (content.startsWith("[")) {
            section(content);
            return;
        }
        int eq = content.indexOf('=');
        if (eq < 0) {
            throw fail("line is neither 'Key = Value' nor a [Section] header");
        }
        String key = content.substring(0, eq).strip();
        String value = content.substring(eq + 1).strip();
        String k = key.toLowerCase(Locale.ROOT);
        if (inPool) {
            if (!POOL_KEYS.contains(k)) {
                throw unknownKey(key, "Pool", INTERFACE_KEYS.contains(k) ? "[Interface]"
                        : PEER_KEYS.contains(k) ? "[Peer]" : null);
            }
            poolKey(k, value);
            return;
        }
        if (iface == null && peer == null) {
            throw fail(printableKey(key) ? key + " is outside any section (start the file with [Interface])"
                    : "line is outside any section (start the file with [Interface])");
        }
        if (peer == null) {
            if (!INTERFACE_KEYS.contains(k)) {
                throw unknownKey(key, "Interface", PEER_KEYS.contains(k) ? "[Peer]" : null);
            }
            interfaceKey(k, key, value, raw.substring(raw.indexOf('=') + 1).strip());
        } else {
            if (!PEER_KEYS.contains(k)) {
                throw unknownKey(key, "Peer", INTERFACE_KEYS.contains(k) ? "[Interface]" : null);
            }
            peerKey(k, key, value);
        }
    }

    private void section(String content) throws ConfigException {
        String name = content.endsWith("]") ? content.substring(1, content.length() - 1).strip() : null;
        if ("Interface".equalsIgnoreCase(name)) {
            if (iface != null) {
                throw fail("second [Interface] section (the first is on line " + iface.line + ")");
            }
            iface = new InterfaceDraft(lineNumber);
            peer = null;
            inPool = false;
        } else if ("Peer".equalsIgnoreCase(name)) {
            peer = new PeerDraft(lineNumber);
            peers.add(peer);
            inPool = false;
        } else if ("Pool".equalsIgnoreCase(name)) {
            if (pool != null) {
                throw fail("second [Pool] section (the first is on line " + pool.line + ")");
            }
            pool = new PoolDraft(lineNumber);
            peer = null;
            inPool = true;
        } else {
            throw fail("unknown section " + ConfigValues.quote(content) + " (expected [Interface] or [Peer])");
        }
    }

    private void interfaceKey(String k, String key, String value, String command) {
        String wgValue = ConfigValues.withoutSpaces(value);
        switch (k) {
            case "privatekey" -> iface.privateKey = ConfigValues.key("PrivateKey", nonEmpty("PrivateKey", wgValue));
            case "listenport" -> iface.listenPort = ConfigValues.listenPort(nonEmpty("ListenPort", wgValue));
            case "fwmark" -> iface.fwMark = ConfigValues.fwMark(nonEmpty("FwMark", wgValue));
            case "address" -> address(value);
            case "dns" -> iface.dns.addAll(ConfigValues.dns(value));
            case "mtu" -> iface.mtu = value.isEmpty() ? null : ConfigValues.mtu(value);
            case "table" -> iface.table = value.isEmpty() ? null : RouteTable.parse(value);
            case "saveconfig" -> iface.saveConfig = ConfigValues.bool("SaveConfig", value);
            case "hub" -> iface.hub = ConfigValues.bool("Hub", value);
            case "clientisolation" -> iface.clientIsolation = ConfigValues.bool("ClientIsolation", value);
            case "peersfile" -> iface.peersFile = nonEmpty("PeersFile", value);
            case "metrics" -> iface.metrics = ConfigValues.metrics(nonEmpty("Metrics", wgValue));
            case "publicendpoint" -> iface.publicEndpoint = ConfigValues.endpoint(nonEmpty("PublicEndpoint", wgValue)).toString();
            case "offloads" -> {
                dev.patchcord.device.Offloads.parse(nonEmpty("Offloads", value)); // refuse a typo here, not at start
                iface.offloads = value;
            }
            case "directory" -> iface.directory = directoryUri(nonEmpty("Directory", wgValue));
            case "directorykey" -> iface.directoryKey = ConfigValues.key("DirectoryKey", nonEmpty("DirectoryKey", wgValue));
            case "directoryinterval" -> iface.directoryInterval = (int) seconds("DirectoryInterval", value, 1);
            case "directoryca" -> iface.directoryCa = nonEmpty("DirectoryCA", value);
            case "transport" -> iface.transport = TransportMode.parse(value);
            case "store" -> iface.storeEndpoints = StoreSettings.parseEndpoints(nonEmpty("Store", wgValue));
            case "cluster" -> iface.cluster = StoreSettings.checkClusterName(nonEmpty("Cluster", value));
            case "storeca" -> iface.storeCa = nonEmpty("StoreCA", value);
            case "storecert" -> iface.storeCert = nonEmpty("StoreCert", value);
            case "storekey" -> iface.storeKey = nonEmpty("StoreKey", value);
            case "hubid" -> iface.hubId = nonEmpty("HubId", value);
            case "backplane" -> iface.backplane = Endpoint.parse(nonEmpty("Backplane", wgValue)).toString();
            case "mode" -> iface.tap = switch (value.toLowerCase(java.util.Locale.ROOT)) {
                case "tap" -> true;
                case "tun" -> false;
                default -> throw new IllegalArgumentException("Mode " + ConfigValues.quote(value) + " is neither tun nor tap");
            };
            case "preup", "postup", "predown", "postdown" -> {
                if (!command.isEmpty()) {
                    iface.hooks.computeIfAbsent(k, x -> new ArrayList<>()).add(command);
                }
            }
            default -> throw new IllegalStateException("no handler for interface key " + key);
        }
    }

    /**
     * {@code Address}: prefixes, or patchcord's {@code auto}. On a line with {@code auto}, a bare
     * address (no /prefix) is one asked of the server, at most one per family; anything with a
     * prefix length, and every other Address line, is a fixed address as in wg-quick.
     */
    private void address(String value) {
        List<String> entries = ConfigValues.entries(value);
        if (entries.stream().noneMatch(e -> e.equalsIgnoreCase("auto"))) {
            iface.addresses.addAll(ConfigValues.cidrs("Address", value));
            return;
        }
        iface.autoAddress = true;
        for (String e : entries) {
            if (e.equalsIgnoreCase("auto")) {
                continue;
            }
            if (e.indexOf('/') >= 0) {
                iface.addresses.addAll(ConfigValues.cidrs("Address", e));
                continue;
            }
            java.net.InetAddress a;
            try {
                a = Cidr.parseAddress(e);
            } catch (IllegalArgumentException x) {
                throw new IllegalArgumentException("Address " + ConfigValues.quote(e)
                        + " is neither 'auto' nor an IP address to ask the server for");
            }
            for (java.net.InetAddress other : iface.requested) {
                if ((other instanceof java.net.Inet4Address) == (a instanceof java.net.Inet4Address)) {
                    throw new IllegalArgumentException("Address = auto asks for two " + (a instanceof java.net.Inet4Address
                            ? "IPv4" : "IPv6") + " addresses (" + Cidr.format(other) + " and " + Cidr.format(a)
                            + "); a client leases one of each family");
                }
            }
            byte[] bytes = a.getAddress();
            boolean zero = true;
            for (byte b : bytes) {
                zero &= b == 0;
            }
            if (zero) {
                throw new IllegalArgumentException("Address = auto cannot ask for the unspecified address " + Cidr.format(a));
            }
            iface.requested.add(a);
        }
    }

    private void poolKey(String k, String value) {
        switch (k) {
            case "range" -> {
                for (Cidr c : ConfigValues.cidrs("Range", nonEmpty("Range", value))) {
                    if (c.isIpv4() ? pool.v4 != null : pool.v6 != null) {
                        throw new IllegalArgumentException("Range has two " + (c.isIpv4() ? "IPv4" : "IPv6")
                                + " prefixes (" + (c.isIpv4() ? pool.v4 : pool.v6) + " and " + c + "); a pool has one of each family");
                    }
                    if (c.isIpv4() && c.prefix() > 30 || !c.isIpv4() && c.prefix() > 126) {
                        throw new IllegalArgumentException("Range " + c + " is too small to lease from");
                    }
                    if (c.isIpv4()) {
                        pool.v4 = c.network();
                    } else {
                        pool.v6 = c.network();
                    }
                }
            }
            case "leasetime" -> pool.leaseSeconds = seconds("LeaseTime", value, 1);
            case "deadpeertimeout" -> pool.deadPeerSeconds = seconds("DeadPeerTimeout", value, 0);
            case "routes" -> {
                for (Cidr c : ConfigValues.cidrs("Routes", value)) {
                    if (!c.equals(c.network())) {
                        throw new IllegalArgumentException("Routes " + c + " has host bits set (did you mean " + c.network() + "?)");
                    }
                    pool.routes.add(c);
                }
                if (pool.routes.size() > dev.patchcord.core.assign.AddressMessage.MAX_ROUTES) {
                    throw new IllegalArgumentException("Routes: " + pool.routes.size() + " routes are more than "
                            + dev.patchcord.core.assign.AddressMessage.MAX_ROUTES + " (what one answer can carry)");
                }
            }
            case "leasefile" -> pool.leaseFile = nonEmpty("LeaseFile", value);
            default -> throw new IllegalStateException("no handler for pool key " + k);
        }
    }

    /** A whole number of seconds from {@code min} to 2^32-1. */
    private static long seconds(String name, String value, long min) {
        String v = nonEmpty(name, value);
        if (v.length() > 10 || !v.chars().allMatch(c -> c >= '0' && c <= '9')) {
            throw new IllegalArgumentException(name + " " + ConfigValues.quote(v) + " is not a number of seconds");
        }
        long n = Long.parseLong(v);
        if (n < min || n > 0xffff_ffffL) {
            throw new IllegalArgumentException(name + " " + n + " is out of range (" + min + "-4294967295 seconds)");
        }
        return n;
    }

    private void peerKey(String k, String key, String value) {
        String wgValue = ConfigValues.withoutSpaces(value);
        switch (k) {
            case "publickey" -> {
                peer.publicKey = ConfigValues.key("PublicKey", nonEmpty("PublicKey", wgValue));
                peer.publicKeyLine = lineNumber;
            }
            case "presharedkey" -> peer.presharedKey = ConfigValues.key("PresharedKey", nonEmpty("PresharedKey", wgValue));
            case "allowedips" -> peer.allowedIps.addAll(ConfigValues.cidrs("AllowedIPs", value));
            case "endpoint" -> peer.endpoints = ConfigValues.endpoints(nonEmpty("Endpoint", wgValue));
            case "persistentkeepalive" -> peer.persistentKeepalive =
                    ConfigValues.persistentKeepalive(nonEmpty("PersistentKeepalive", wgValue));
            default -> throw new IllegalStateException("no handler for peer key " + key);
        }
    }

    private WgConfig finish() throws ConfigException {
        if (iface == null) {
            throw new ConfigException(source, 0, "[Interface] section is missing");
        }
        if (iface.privateKey == null) {
            throw new ConfigException(source, iface.line, "[Interface] has no PrivateKey");
        }
        PoolSection poolSection = null;
        if (pool != null) {
            if (pool.v4 == null && pool.v6 == null) {
                throw new ConfigException(source, pool.line, "[Pool] has no Range");
            }
            if (iface.autoAddress) {
                throw new ConfigException(source, pool.line,
                        "[Pool] and Address = auto together: an address server cannot lease its own addresses");
            }
            poolSection = new PoolSection(java.util.Optional.ofNullable(pool.v4), java.util.Optional.ofNullable(pool.v6),
                    pool.leaseSeconds, pool.deadPeerSeconds, pool.routes, pool.leaseFile);
        }
        if (iface.autoAddress && peers.isEmpty()) {
            throw new ConfigException(source, iface.line, "Address = auto needs a [Peer] to ask (the first one is the address server)");
        }
        Map<String, PeerDraft> byKey = new HashMap<>();
        List<WgPeerSection> done = new ArrayList<>();
        for (PeerDraft p : peers) {
            if (p.publicKey == null) {
                throw new ConfigException(source, p.line, "[Peer] has no PublicKey");
            }
            PeerDraft first = byKey.putIfAbsent(HexFormat.of().formatHex(p.publicKey), p);
            if (first != null) {
                throw new ConfigException(source, p.publicKeyLine,
                        "PublicKey is the same as that of the [Peer] on line " + first.line);
            }
            done.add(new WgPeerSection(p.publicKey, p.presharedKey, p.allowedIps, p.endpoints, p.persistentKeepalive));
        }
        WgInterfaceSection section = new WgInterfaceSection(iface.privateKey, iface.listenPort, iface.addresses,
                iface.mtu, iface.dns, iface.table, iface.hook("preup"), iface.hook("postup"), iface.hook("predown"),
                iface.hook("postdown"), iface.fwMark, iface.saveConfig, iface.hub, iface.clientIsolation, iface.tap,
                iface.transport, poolSection,
                poolSection != null ? AddressMode.POOL : iface.autoAddress ? AddressMode.AUTO : AddressMode.STATIC,
                iface.requested, mesh(), iface.offloads,
                iface.publicEndpoint, iface.metrics, store());
        return new WgConfig(source, section, done);
    }

    /** The mesh keys as one settings record, or null when none is given. */
    private MeshSettings mesh() throws ConfigException {
        if (iface.peersFile == null && iface.directory == null && iface.directoryKey == null && iface.directoryCa == null
                && iface.directoryInterval == null) {
            return null;
        }
        try {
            return new MeshSettings(iface.peersFile, iface.directory, iface.directoryKey,
                    iface.directoryInterval == null ? MeshSettings.DEFAULT_INTERVAL : iface.directoryInterval,
                    iface.directoryCa);
        } catch (IllegalArgumentException e) {
            throw new ConfigException(source, iface.line, e.getMessage());
        }
    }

    /** The store keys as one settings record, or null when none is given. */
    private StoreSettings store() throws ConfigException {
        if (iface.storeEndpoints == null) {
            String lone = iface.cluster != null ? "Cluster" : iface.storeCa != null ? "StoreCA"
                    : iface.storeCert != null ? "StoreCert" : iface.storeKey != null ? "StoreKey"
                    : iface.hubId != null ? "HubId" : iface.backplane != null ? "Backplane" : null;
            if (lone != null) {
                throw new ConfigException(source, iface.line, lone + " needs Store (etcd://HOST:PORT)");
            }
            return null;
        }
        try {
            return new StoreSettings(iface.storeEndpoints, iface.cluster, iface.storeCa, iface.storeCert, iface.storeKey,
                    iface.hubId, iface.backplane);
        } catch (IllegalArgumentException e) {
            throw new ConfigException(source, iface.line, e.getMessage());
        }
    }

    private static java.net.URI directoryUri(String value) {
        try {
            java.net.URI u = new java.net.URI(value);
            if (!"https".equalsIgnoreCase(u.getScheme()) || u.getHost() == null) {
                throw new IllegalArgumentException("Directory " + ConfigValues.quote(value) + " is not an https://HOST[:PORT] URL");
            }
            return u;
        } catch (java.net.URISyntaxException e) {
            throw new IllegalArgumentException("Directory " + ConfigValues.quote(value) + " is not a URL: " + e.getReason());
        }
    }

    private static String nonEmpty(String name, String value) {
        if (value.isEmpty()) {
            throw new IllegalArgumentException(name + " has no value");
        }
        return value;
    }

    private ConfigException unknownKey(String key, String section, String belongsIn) {
        if (!printableKey(key)) {
            return fail("line is neither 'Key = Value' nor a [Section] header");
        }
        if (belongsIn != null) {
            return fail(key + " belongs in " + belongsIn + ", not in [" + section + "]");
        }
        return fail("unknown key " + ConfigValues.quote(key) + " in [" + section + "]");
    }

    /**
     * Whether a key can be repeated in a message: a plain word. A line such as
     * {@code PrivateKey yAnz...=} without its '=' would otherwise print the key material.
     */
    private static boolean printableKey(String key) {
        return !key.isEmpty() && key.length() <= 32
                && key.chars().allMatch(c -> c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_');
    }

    private ConfigException fail(String problem) {
        return new ConfigException(source, lineNumber, problem);
    }

    /** The [Interface] values read so far. */
    private static final class InterfaceDraft {
        final int line;
        byte[] privateKey;
        Integer listenPort;
        Integer fwMark;
        Integer mtu;
        RouteTable table;
        boolean saveConfig;
        boolean hub;
        boolean clientIsolation;
        boolean tap;
        TransportMode transport = TransportMode.UDP;
        final List<Cidr> addresses = new ArrayList<>();
        final List<String> dns = new ArrayList<>();
        boolean autoAddress;
        String peersFile;
        String offloads;
        String publicEndpoint;
        String metrics;
        java.net.URI directory;
        byte[] directoryKey;
        Integer directoryInterval;
        String directoryCa;
        List<String> storeEndpoints;
        String cluster;
        String storeCa;
        String storeCert;
        String storeKey;
        String hubId;
        String backplane;
        final List<java.net.InetAddress> requested = new ArrayList<>();
        final Map<String, List<String>> hooks = new HashMap<>();

        InterfaceDraft(int line) {
            this.line = line;
        }

        List<String> hook(String name) {
            return hooks.getOrDefault(name, List.of());
        }
    }

    /** The [Pool] values read so far. */
    private static final class PoolDraft {
        final int line;
        Cidr v4;
        Cidr v6;
        long leaseSeconds = PoolSection.DEFAULT_LEASE_SECONDS;
        long deadPeerSeconds = PoolSection.DEFAULT_DEAD_PEER_SECONDS;
        final List<Cidr> routes = new ArrayList<>();
        String leaseFile;

        PoolDraft(int line) {
            this.line = line;
        }
    }

    /** One [Peer]'s values read so far. */
    private static final class PeerDraft {
        final int line;
        int publicKeyLine;
        byte[] publicKey;
        byte[] presharedKey;
        List<Endpoint> endpoints = List.of();
        int persistentKeepalive;
        final List<Cidr> allowedIps = new ArrayList<>();

        PeerDraft(int line) {
            this.line = line;
        }
    }
}
