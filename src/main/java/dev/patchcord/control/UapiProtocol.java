package dev.patchcord.control;

import dev.patchcord.control.SetRequest.AllowedIpChange;
import dev.patchcord.control.SetRequest.PeerChange;
import dev.patchcord.control.UapiDevice.DeviceState;
import dev.patchcord.control.UapiDevice.PeerState;
import dev.patchcord.core.Cidr;

import java.io.ByteArrayOutputStream;
import java.net.Inet6Address;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;

import static dev.patchcord.control.UapiException.EINVAL;
import static dev.patchcord.control.UapiException.EPROTO;

/**
 * The text of the WireGuard configuration protocol (UAPI, https://www.wireguard.com/xplatform/)
 * that {@code wg} speaks to a userspace implementation: {@code key=value} lines, an empty line
 * ending each request and reply. This class only turns text into values and back; the socket is
 * {@link UapiServer}'s.
 *
 * <p>Parsing follows wireguard-go ({@code device/uapi.go}) key by key, since that is the
 * implementation {@code wg} is tested against: keys are 64 hex digits (either case), numbers are
 * plain decimal, {@code allowed_ip} needs a {@code /prefix}, an endpoint is an IP literal with
 * IPv6 in brackets, an unknown key is {@code EINVAL}, a line without '=' is {@code EPROTO}. One
 * difference is deliberate: the whole request is checked before any of it is applied, so a typo in
 * the tenth line no longer leaves the first nine applied.
 */
public final class UapiProtocol {
    private UapiProtocol() {}

    /** The first line of a get request; a second, empty line ends it. */
    public static final String GET = "get=1";
    /** The first line of a set request. */
    public static final String SET = "set=1";
    /**
     * Put in front of extension keys in get replies. {@code wg}'s reader
     * ({@code wireguard-tools/src/ipc-uapi.h}) matches the keys it knows and silently skips any
     * other {@code key=value} line, so {@code wg show} and {@code wg showconf} are unaffected.
     */
    public static final String EXTENSION_PREFIX = "patchcord_";

    /**
     * The extension key (after {@link #EXTENSION_PREFIX}) under which a running
     * {@code patchcord up} names the absolute path of the file it was started from, so that the
     * commands that edit or apply that file find it by the interface's name wherever it lives.
     */
    public static final String CONFIG_FILE = "config_file";

    private static final HexFormat HEX = HexFormat.of();
    private static final HexFormat HEX_UPPER = HexFormat.of().withUpperCase();
    private static final String ZERO_KEY = "0".repeat(64);

    /**
     * Parses the lines of a set request after {@code set=1}, up to the first empty line (or the end
     * of the text: wireguard-go also takes the end of the stream as the end of a set). A line may
     * end in "\r\n", as Go's line scanner allows.
     *
     * @throws UapiException {@code EINVAL} for a bad key or value, {@code EPROTO} for a line that
     *         is not {@code key=value}; the message names the key and what is expected
     */
    public static SetRequest parseSet(String body) throws UapiException {
        SetParser parser = new SetParser();
        int start = 0;
        while (start < body.length()) {
            int end = body.indexOf('\n', start);
            String line = end < 0 ? body.substring(start) : body.substring(start, end);
            start = end < 0 ? body.length() : end + 1;
            if (line.endsWith("\r")) {
                line = line.substring(0, line.length() - 1);
            }
            if (line.isEmpty()) {
                break;
            }
            parser.line(line);
        }
        return parser.finish();
    }

    /**
     * The complete reply to {@code get=1}, in wireguard-go's order and form, ending in
     * {@code errno=0} and the empty line. Lines wireguard-go leaves out are left out here too: no
     * {@code private_key} without a key, no {@code listen_port} when it is 0, no {@code fwmark}
     * when it is 0, no {@code endpoint} while unknown. A missing preshared key is 64 zeros.
     */
    public static String formatGet(DeviceState state) {
        StringBuilder out = new StringBuilder(256 + 320 * state.peers().size());
        byte[] privateKey = state.privateKey();
        if (privateKey != null && !SetRequest.isZero(privateKey)) {
            out.append("private_key=").append(HEX.formatHex(privateKey)).append('\n');
        }
        if (state.listenPort() != 0) {
            out.append("listen_port=").append(state.listenPort()).append('\n');
        }
        if (state.fwmark() != 0) {
            out.append("fwmark=").append(Integer.toUnsignedString(state.fwmark())).append('\n');
        }
        extensions(out, state.extensions());
        for (PeerState peer : state.peers()) {
            out.append("public_key=").append(HEX.formatHex(peer.publicKey())).append('\n');
            byte[] psk = peer.presharedKey();
            out.append("preshared_key=").append(psk == null ? ZERO_KEY : HEX.formatHex(psk)).append('\n');
            out.append("protocol_version=1\n");
            if (peer.endpoint() != null) {
                out.append("endpoint=").append(formatEndpoint(peer.endpoint())).append('\n');
            }
            long nanos = peer.lastHandshakeEpochNanos();
            out.append("last_handshake_time_sec=").append(nanos / 1_000_000_000L).append('\n');
            out.append("last_handshake_time_nsec=").append(nanos % 1_000_000_000L).append('\n');
            out.append("tx_bytes=").append(Long.toUnsignedString(peer.txBytes())).append('\n');
            out.append("rx_bytes=").append(Long.toUnsignedString(peer.rxBytes())).append('\n');
            out.append("persistent_keepalive_interval=").append(peer.persistentKeepalive()).append('\n');
            for (Cidr cidr : peer.allowedIps()) {
                out.append("allowed_ip=").append(cidr.network()).append('\n');
            }
            extensions(out, peer.extensions());
        }
        return out.append("errno=0\n\n").toString();
    }

    /**
     * A status reply: {@code errno=0} for success, otherwise the errno negated, as wireguard-go
     * sends it ({@code errno=-22}). {@code wg set} reads a signed number and reports
     * {@code -value}, so this prints "Invalid argument"; a positive number would print
     * "Unknown error -22".
     *
     * @param errno 0 or a positive errno value
     */
    public static String formatErrno(int errno) {
        if (errno < 0) {
            throw new IllegalArgumentException("errno must be 0 or positive, not " + errno);
        }
        return errno == 0 ? "errno=0\n\n" : "errno=-" + errno + "\n\n";
    }

    /**
     * An endpoint as wireguard-go prints it: {@code 1.2.3.4:51820}, {@code [fd00::1]:51820},
     * {@code [fe80::1%eth0]:51820}.
     */
    public static String formatEndpoint(InetSocketAddress endpoint) {
        if (!(endpoint.getAddress() instanceof Inet6Address v6)) {
            return Cidr.format(endpoint.getAddress()) + ":" + endpoint.getPort();
        }
        String zone = v6.getScopedInterface() != null ? "%" + v6.getScopedInterface().getName()
                : v6.getScopeId() != 0 ? "%" + v6.getScopeId() : "";
        return "[" + Cidr.format(v6) + zone + "]:" + endpoint.getPort();
    }

    /** A key as this protocol writes it: 64 lower-case hex digits. */
    public static String hex(byte[] key) {
        return HEX.formatHex(key);
    }

    /**
     * A file path as an extension value: every byte of its UTF-8 form outside printable ASCII, and
     * '%' itself, as {@code %XX}. A Linux path may hold any byte but NUL, a newline included;
     * encoded, no path can end its line early and forge a key that {@code wg} or patchcord reads.
     *
     * @return empty when the path is not valid Unicode (it would not come back as the same path) or
     *         its encoding is longer than an extension value may be
     */
    public static Optional<String> encodePath(String path) {
        ByteBuffer utf8;
        try {
            utf8 = StandardCharsets.UTF_8.newEncoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).encode(CharBuffer.wrap(path));
        } catch (CharacterCodingException e) {
            return Optional.empty();
        }
        StringBuilder out = new StringBuilder(path.length());
        while (utf8.hasRemaining()) {
            byte b = utf8.get();
            int c = b & 0xff;
            if (c >= 0x20 && c < 0x7f && c != '%') {
                out.append((char) c);
            } else {
                out.append('%').append(HEX_UPPER.toHexDigits(b));
            }
        }
        return out.length() <= UapiDevice.MAX_EXTENSION_VALUE ? Optional.of(out.toString()) : Optional.empty();
    }

    /**
     * The configuration file a get reply names in its device part ({@code patchcord_config_file},
     * see {@link #CONFIG_FILE}), decoded. Empty when there is none (wireguard-go, a patchcord that
     * did not start from a file) or its value is not a well-formed {@link #encodePath} encoding
     * of a UTF-8 path: a path read wrongly would be the wrong file to edit.
     */
    public static Optional<String> configFile(String getReply) {
        String prefix = EXTENSION_PREFIX + CONFIG_FILE + "=";
        for (String line : getReply.split("\n", -1)) {
            if (line.isEmpty() || line.startsWith("public_key=")) {
                return Optional.empty(); // the end of the reply, or the peers: the device's lines are over
            }
            if (line.startsWith(prefix)) {
                return decodePath(line.substring(prefix.length()));
            }
        }
        return Optional.empty();
    }

    private static Optional<String> decodePath(String value) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(value.length());
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c == '%') {
                if (i + 2 >= value.length() || !HexFormat.isHexDigit(value.charAt(i + 1))
                        || !HexFormat.isHexDigit(value.charAt(i + 2))) {
                    return Optional.empty();
                }
                bytes.write(HexFormat.fromHexDigit(value.charAt(i + 1)) << 4 | HexFormat.fromHexDigit(value.charAt(i + 2)));
                i += 2;
            } else if (c >= 0x20 && c < 0x7f) {
                bytes.write(c);
            } else {
                return Optional.empty();
            }
        }
        try {
            String path = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes.toByteArray())).toString();
            return path.isEmpty() || path.indexOf('\0') >= 0 ? Optional.empty() : Optional.of(path);
        } catch (CharacterCodingException e) {
            return Optional.empty();
        }
    }

    private static void extensions(StringBuilder out, Map<String, String> extensions) {
        extensions.forEach((k, v) -> out.append(EXTENSION_PREFIX).append(k).append('=').append(v).append('\n'));
    }

    /** The state of one set request while its lines are read. */
    private static final class SetParser {
        private Optional<byte[]> privateKey = Optional.empty();
        private OptionalInt listenPort = OptionalInt.empty();
        private OptionalInt fwmark = OptionalInt.empty();
        private boolean replacePeers;
        private final List<PeerChange> peers = new ArrayList<>();
        private PeerDraft peer;

        void line(String line) throws UapiException {
            int eq = line.indexOf('=');
            if (eq < 0) {
                throw new UapiException(EPROTO, "line '" + UapiValues.shorten(line) + "' is not key=value");
            }
            String key = line.substring(0, eq);
            String value = line.substring(eq + 1);
            if (key.equals("public_key")) {
                closePeer();
                peer = new PeerDraft(UapiValues.key(key, value));
            } else if (peer == null) {
                deviceLine(key, value);
            } else {
                peer.line(key, value);
            }
        }

        private void deviceLine(String key, String value) throws UapiException {
            switch (key) {
                case "private_key" -> privateKey = Optional.of(UapiValues.key(key, value));
                case "listen_port" -> listenPort = OptionalInt.of((int) UapiValues.number(key, value, 0xffff));
                case "fwmark" -> fwmark = OptionalInt.of((int) UapiValues.number(key, value, 0xffff_ffffL));
                case "replace_peers" -> replacePeers = UapiValues.isTrue(key, value);
                default -> throw new UapiException(EINVAL, UapiValues.isPeerKey(key)
                        ? "peer key '" + key + "' comes before any public_key line"
                        : "unknown device key '" + UapiValues.shorten(key) + "'");
            }
        }

        private void closePeer() {
            if (peer != null) {
                peers.add(peer.build());
            }
        }

        SetRequest finish() {
            closePeer();
            return new SetRequest(privateKey, listenPort, fwmark, replacePeers, peers);
        }
    }

    /** The lines of one {@code public_key} block so far. */
    private static final class PeerDraft {
        private final byte[] publicKey;
        private boolean remove;
        private boolean updateOnly;
        private Optional<byte[]> presharedKey = Optional.empty();
        private Optional<InetSocketAddress> endpoint = Optional.empty();
        private OptionalInt persistentKeepalive = OptionalInt.empty();
        private boolean replaceAllowedIps;
        private final List<AllowedIpChange> allowedIps = new ArrayList<>();

        PeerDraft(byte[] publicKey) {
            this.publicKey = publicKey;
        }

        void line(String key, String value) throws UapiException {
            switch (key) {
                case "remove" -> remove = UapiValues.isTrue(key, value);
                case "update_only" -> updateOnly = UapiValues.isTrue(key, value);
                case "preshared_key" -> presharedKey = Optional.of(UapiValues.key(key, value));
                case "endpoint" -> endpoint = Optional.of(UapiValues.endpoint(value));
                case "persistent_keepalive_interval" ->
                        persistentKeepalive = OptionalInt.of((int) UapiValues.number(key, value, 0xffff));
                case "replace_allowed_ips" -> {
                    replaceAllowedIps = UapiValues.isTrue(key, value);
                    allowedIps.clear();
                }
                case "allowed_ip" -> allowedIps.add(UapiValues.allowedIp(value));
                case "protocol_version" -> {
                    if (!value.equals("1")) {
                        throw new UapiException(EINVAL, "protocol_version '" + UapiValues.shorten(value)
                                + "' is not supported (only 1)");
                    }
                }
                default -> throw new UapiException(EINVAL, UapiValues.isDeviceKey(key)
                        ? "device key '" + key + "' comes after a public_key line (device keys go first)"
                        : "unknown peer key '" + UapiValues.shorten(key) + "'");
            }
        }

        PeerChange build() {
            return new PeerChange(publicKey, remove, updateOnly, presharedKey, endpoint, persistentKeepalive,
                    replaceAllowedIps, allowedIps);
        }
    }
}
