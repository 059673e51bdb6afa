package dev.patchcord.control;

import dev.patchcord.core.Cidr;

import java.net.InetSocketAddress;
import java.util.Arrays;
import java.util.Base64;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * What the UAPI server (the socket {@code wg} talks to) needs from a running WireGuard device:
 * a snapshot to print and a way to apply a parsed change.
 *
 * <p>{@link UapiServer} never calls {@link #set} concurrently with another {@code set} or with
 * {@link #get}, as wireguard-go's IPC lock does, so an implementation only has to be safe against
 * its own packet threads, not against two {@code wg} commands at once.
 */
public interface UapiDevice {

    /** An immutable snapshot of the device, in the order its peers should be listed. */
    DeviceState get();

    /**
     * Applies a request that has already been checked for syntax. The semantics are wireguard-go's
     * (documented on {@link SetRequest}); the server replies {@code errno=0} when this returns.
     *
     * @throws UapiException with the errno to send back, e.g. {@link UapiException#EADDRINUSE}
     *         when the new listen port is taken
     */
    void set(SetRequest request) throws UapiException;

    /**
     * The device as {@code get=1} reports it.
     *
     * @param privateKey the 32-byte private key, or null when the device has none
     * @param listenPort the UDP port in use, 0 when not bound (then no {@code listen_port} line is sent)
     * @param fwmark the socket mark as an unsigned 32-bit value, 0 for none
     * @param peers in listing order
     * @param extensions extra {@code patchcord_KEY=VALUE} lines for patchcord's own tools; {@code wg}
     *        skips keys it does not know (see {@link UapiProtocol#EXTENSION_PREFIX})
     */
    record DeviceState(byte[] privateKey, int listenPort, int fwmark, List<PeerState> peers,
            Map<String, String> extensions) {

        public DeviceState {
            privateKey = privateKey == null ? null : key(privateKey, "private key").clone();
            if (listenPort < 0 || listenPort > 65535) {
                throw new IllegalArgumentException("listen port " + listenPort + " is out of range (0-65535)");
            }
            peers = List.copyOf(peers);
            extensions = checkExtensions(extensions);
        }

        /** A device without extension lines. */
        public DeviceState(byte[] privateKey, int listenPort, int fwmark, List<PeerState> peers) {
            this(privateKey, listenPort, fwmark, peers, Map.of());
        }

        /** A copy of the private key, or null. */
        @Override
        public byte[] privateKey() {
            return privateKey == null ? null : privateKey.clone();
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof DeviceState d && Arrays.equals(privateKey, d.privateKey) && listenPort == d.listenPort
                    && fwmark == d.fwmark && peers.equals(d.peers) && extensions.equals(d.extensions);
        }

        @Override
        public int hashCode() {
            return Objects.hash(Arrays.hashCode(privateKey), listenPort, fwmark, peers, extensions);
        }

        /** Never shows the private key. */
        @Override
        public String toString() {
            return "DeviceState[privateKey=" + (privateKey == null ? "none" : "(hidden)") + ", listenPort=" + listenPort
                    + ", fwmark=" + Integer.toUnsignedString(fwmark) + ", peers=" + peers
                    + ", extensions=" + extensions + "]";
        }
    }

    /**
     * One peer as {@code get=1} reports it.
     *
     * @param publicKey the peer's 32-byte public key
     * @param presharedKey the 32-byte preshared key, or null for none (printed as 64 zeros, as wireguard-go does)
     * @param endpoint the peer's current address, or null while unknown; must be resolved
     * @param lastHandshakeEpochNanos wall-clock time of the last completed handshake, 0 for never
     * @param rxBytes bytes received, as an unsigned 64-bit counter
     * @param txBytes bytes sent, as an unsigned 64-bit counter
     * @param persistentKeepalive seconds, 0 when off
     * @param allowedIps in listing order
     * @param extensions extra {@code patchcord_KEY=VALUE} lines, e.g. drop counters
     */
    record PeerState(byte[] publicKey, byte[] presharedKey, InetSocketAddress endpoint, long lastHandshakeEpochNanos,
            long rxBytes, long txBytes, int persistentKeepalive, List<Cidr> allowedIps,
            Map<String, String> extensions) {

        public PeerState {
            publicKey = key(publicKey, "public key").clone();
            presharedKey = presharedKey == null ? null : key(presharedKey, "preshared key").clone();
            if (endpoint != null && endpoint.isUnresolved()) {
                throw new IllegalArgumentException("endpoint " + endpoint + " is not resolved");
            }
            if (lastHandshakeEpochNanos < 0) {
                throw new IllegalArgumentException("last handshake time cannot be negative");
            }
            if (persistentKeepalive < 0 || persistentKeepalive > 65535) {
                throw new IllegalArgumentException("persistent keepalive " + persistentKeepalive
                        + " is out of range (0-65535)");
            }
            allowedIps = List.copyOf(allowedIps);
            extensions = checkExtensions(extensions);
        }

        /** A peer without extension lines. */
        public PeerState(byte[] publicKey, byte[] presharedKey, InetSocketAddress endpoint, long lastHandshakeEpochNanos,
                long rxBytes, long txBytes, int persistentKeepalive, List<Cidr> allowedIps) {
            this(publicKey, presharedKey, endpoint, lastHandshakeEpochNanos, rxBytes, txBytes, persistentKeepalive,
                    allowedIps, Map.of());
        }

        @Override
        public byte[] publicKey() {
            return publicKey.clone();
        }

        @Override
        public byte[] presharedKey() {
            return presharedKey == null ? null : presharedKey.clone();
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof PeerState p && Arrays.equals(publicKey, p.publicKey)
                    && Arrays.equals(presharedKey, p.presharedKey) && Objects.equals(endpoint, p.endpoint)
                    && lastHandshakeEpochNanos == p.lastHandshakeEpochNanos && rxBytes == p.rxBytes
                    && txBytes == p.txBytes && persistentKeepalive == p.persistentKeepalive
                    && allowedIps.equals(p.allowedIps) && extensions.equals(p.extensions);
        }

        @Override
        public int hashCode() {
            return Objects.hash(Arrays.hashCode(publicKey), Arrays.hashCode(presharedKey), endpoint,
                    lastHandshakeEpochNanos, rxBytes, txBytes, persistentKeepalive, allowedIps, extensions);
        }

        /** Shows the public key in base64, as wg does; never the preshared key. */
        @Override
        public String toString() {
            return "PeerState[publicKey=" + Base64.getEncoder().encodeToString(publicKey)
                    + ", presharedKey=" + (presharedKey == null ? "none" : "(hidden)") + ", endpoint=" + endpoint
                    + ", lastHandshakeEpochNanos=" + lastHandshakeEpochNanos
                    + ", rxBytes=" + Long.toUnsignedString(rxBytes) + ", txBytes=" + Long.toUnsignedString(txBytes)
                    + ", persistentKeepalive=" + persistentKeepalive + ", allowedIps=" + allowedIps
                    + ", extensions=" + extensions + "]";
        }
    }

    /** The longest extension value, in characters. */
    int MAX_EXTENSION_VALUE = 1024;

    private static byte[] key(byte[] key, String what) {
        if (key == null || key.length != 32) {
            throw new IllegalArgumentException(what + " must be 32 bytes");
        }
        return key;
    }

    /**
     * Checks and sorts extension lines (keys become part of a line name: a-z, 0-9 and '_'), so that the output is the same on every call. A value is
     * printable ASCII: a newline in it would end the line early and could forge a key that
     * {@code wg} does read.
     */
    private static Map<String, String> checkExtensions(Map<String, String> extensions) {
        TreeMap<String, String> sorted = new TreeMap<>();
        extensions.forEach((k, v) -> {
            if (k == null || k.isEmpty() || k.length() > 64
                    || !k.chars().allMatch(c -> c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_')) {
                throw new IllegalArgumentException("extension key '" + k + "' is not 1-64 of a-z, 0-9 and '_'");
            }
            if (v == null || v.length() > MAX_EXTENSION_VALUE || !v.chars().allMatch(c -> c >= 0x20 && c < 0x7f)) {
                throw new IllegalArgumentException("extension '" + k + "' has a value that is not 0-" + MAX_EXTENSION_VALUE
                        + " printable ASCII characters");
            }
            sorted.put(k, v);
        });
        return Collections.unmodifiableMap(sorted);
    }
}
