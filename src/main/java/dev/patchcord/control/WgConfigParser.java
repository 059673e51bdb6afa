package dev.patchcord.control;

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
            "hub", "clientisolation", "mode", "transport");
    private static final Set<String> PEER_KEYS = Set.of("publickey", "presharedkey", "allowedips", "endpoint",
            "persistentkeepalive");

    private final String source;
    private int lineNumber;
    private InterfaceDraft iface;
    private PeerDraft peer;
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
        } else if ("Peer".equalsIgnoreCase(name)) {
            peer = new PeerDraft(lineNumber);
            peers.add(peer);
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
            case "address" -> iface.addresses.addAll(ConfigValues.cidrs("Address", value));
            case "dns" -> iface.dns.addAll(ConfigValues.dns(value));
            case "mtu" -> iface.mtu = value.isEmpty() ? null : ConfigValues.mtu(value);
            case "table" -> iface.table = value.isEmpty() ? null : ConfigValues.table(value);
            case "saveconfig" -> iface.saveConfig = ConfigValues.bool("SaveConfig", value);
            case "hub" -> iface.hub = ConfigValues.bool("Hub", value);
            case "clientisolation" -> iface.clientIsolation = ConfigValues.bool("ClientIsolation", value);
            case "transport" -> iface.transport = switch (value.toLowerCase(java.util.Locale.ROOT).replace(" ", "")) {
                case "udp" -> "udp";
                case "tcp" -> "tcp";
                case "udp,tcp", "tcp,udp" -> "udp,tcp";
                default -> throw new IllegalArgumentException("Transport " + ConfigValues.quote(value)
                        + " is not udp, tcp or udp,tcp");
            };
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

    private void peerKey(String k, String key, String value) {
        String wgValue = ConfigValues.withoutSpaces(value);
        switch (k) {
            case "publickey" -> {
                peer.publicKey = ConfigValues.key("PublicKey", nonEmpty("PublicKey", wgValue));
                peer.publicKeyLine = lineNumber;
            }
            case "presharedkey" -> peer.presharedKey = ConfigValues.key("PresharedKey", nonEmpty("PresharedKey", wgValue));
            case "allowedips" -> peer.allowedIps.addAll(ConfigValues.cidrs("AllowedIPs", value));
            case "endpoint" -> peer.endpoint = ConfigValues.endpoint(nonEmpty("Endpoint", wgValue));
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
            done.add(new WgPeerSection(p.publicKey, p.presharedKey, p.allowedIps, p.endpoint, p.persistentKeepalive));
        }
        WgInterfaceSection section = new WgInterfaceSection(iface.privateKey, iface.listenPort, iface.addresses,
                iface.mtu, iface.dns, iface.table, iface.hook("preup"), iface.hook("postup"), iface.hook("predown"),
                iface.hook("postdown"), iface.fwMark, iface.saveConfig, iface.hub, iface.clientIsolation, iface.tap,
                iface.transport);
        return new WgConfig(source, section, done);
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
        String table;
        boolean saveConfig;
        boolean hub;
        boolean clientIsolation;
        boolean tap;
        String transport = "udp";
        final List<Cidr> addresses = new ArrayList<>();
        final List<String> dns = new ArrayList<>();
        final Map<String, List<String>> hooks = new HashMap<>();

        InterfaceDraft(int line) {
            this.line = line;
        }

        List<String> hook(String name) {
            return hooks.getOrDefault(name, List.of());
        }
    }

    /** One [Peer]'s values read so far. */
    private static final class PeerDraft {
        final int line;
        int publicKeyLine;
        byte[] publicKey;
        byte[] presharedKey;
        Endpoint endpoint;
        int persistentKeepalive;
        final List<Cidr> allowedIps = new ArrayList<>();

        PeerDraft(int line) {
            this.line = line;
        }
    }
}
