package dev.patchcord.control;

import dev.patchcord.core.Cidr;

import java.net.InetSocketAddress;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * A parsed UAPI {@code set=1} request: what {@code wg set}, {@code wg setconf} and
 * {@code wg syncconf} ask a device to change. Empty fields leave the device as it is.
 *
 * <p>The device applies it in this order, which is the order wireguard-go applies the lines in:
 * private key, listen port, fwmark, {@code replacePeers} (remove every peer), then each
 * {@link PeerChange} in turn. The same public key may appear in several changes; each is applied
 * after the one before.
 *
 * @param privateKey the new 32-byte private key; 32 zero bytes remove it (see {@link #clearsPrivateKey()})
 * @param listenPort the new UDP port, 0 for a random one
 * @param fwmark the new socket mark as an unsigned 32-bit value, 0 to clear it
 * @param replacePeers remove every existing peer before the peer changes are applied
 * @param peers the peer changes in request order
 */
public record SetRequest(Optional<byte[]> privateKey, OptionalInt listenPort, OptionalInt fwmark, boolean replacePeers,
        List<PeerChange> peers) {

    public SetRequest {
        privateKey = copyKey(privateKey, "private key");
        Objects.requireNonNull(listenPort, "listenPort");
        Objects.requireNonNull(fwmark, "fwmark");
        peers = List.copyOf(peers);
    }

    /** A copy of the private key, if one is set. */
    @Override
    public Optional<byte[]> privateKey() {
        return privateKey.map(byte[]::clone);
    }

    /** Whether the request removes the private key (it sends 32 zero bytes, as {@code wg} does). */
    public boolean clearsPrivateKey() {
        return privateKey.isPresent() && isZero(privateKey.get());
    }

    /**
     * One {@code public_key=} block. Semantics as in wireguard-go:
     * <ul>
     * <li>{@code remove}: remove the peer if it exists; everything else in the block is ignored.
     * <li>{@code updateOnly}: change the peer only if it already exists; never create it.
     * <li>Otherwise the peer is created if missing, then changed.
     * <li>{@code replaceAllowedIps}: remove the peer's allowed IPs before {@code allowedIps} is
     *     applied. The parser folds the position of the line in: allowed IPs named before a
     *     {@code replace_allowed_ips=true} line are dropped from the list, as wireguard-go would
     *     remove them again.
     * <li>{@code allowedIps}: additions and removals in request order; each prefix has its host bits
     *     cleared (10.0.0.1/24 arrives as 10.0.0.0/24), as the kernel and wireguard-go store it.
     * </ul>
     *
     * @param publicKey the peer's 32-byte public key
     * @param remove remove the peer
     * @param updateOnly do not create the peer
     * @param presharedKey the new preshared key; 32 zero bytes remove it (see {@link #clearsPresharedKey()})
     * @param endpoint the new endpoint, always an IP literal (UAPI carries no host names)
     * @param persistentKeepalive seconds, 0 to turn keepalives off
     * @param replaceAllowedIps remove all allowed IPs before applying {@code allowedIps}
     * @param allowedIps additions and removals in order
     */
    public record PeerChange(byte[] publicKey, boolean remove, boolean updateOnly, Optional<byte[]> presharedKey,
            Optional<InetSocketAddress> endpoint, OptionalInt persistentKeepalive, boolean replaceAllowedIps,
            List<AllowedIpChange> allowedIps) {

        public PeerChange {
            if (publicKey == null || publicKey.length != 32) {
                throw new IllegalArgumentException("public key must be 32 bytes");
            }
            publicKey = publicKey.clone();
            presharedKey = copyKey(presharedKey, "preshared key");
            Objects.requireNonNull(endpoint, "endpoint");
            if (endpoint.isPresent() && endpoint.get().isUnresolved()) {
                throw new IllegalArgumentException("endpoint " + endpoint.get() + " is not an IP address");
            }
            Objects.requireNonNull(persistentKeepalive, "persistentKeepalive");
            allowedIps = List.copyOf(allowedIps);
        }

        /** A change that only names the peer: it creates the peer if it is missing. */
        public static PeerChange of(byte[] publicKey) {
            return new PeerChange(publicKey, false, false, Optional.empty(), Optional.empty(), OptionalInt.empty(),
                    false, List.of());
        }

        @Override
        public byte[] publicKey() {
            return publicKey.clone();
        }

        @Override
        public Optional<byte[]> presharedKey() {
            return presharedKey.map(byte[]::clone);
        }

        /** Whether the change removes the preshared key (32 zero bytes, as {@code wg} sends it). */
        public boolean clearsPresharedKey() {
            return presharedKey.isPresent() && isZero(presharedKey.get());
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof PeerChange p && Arrays.equals(publicKey, p.publicKey) && remove == p.remove
                    && updateOnly == p.updateOnly && keysEqual(presharedKey, p.presharedKey)
                    && endpoint.equals(p.endpoint) && persistentKeepalive.equals(p.persistentKeepalive)
                    && replaceAllowedIps == p.replaceAllowedIps && allowedIps.equals(p.allowedIps);
        }

        @Override
        public int hashCode() {
            return Objects.hash(Arrays.hashCode(publicKey), remove, updateOnly, keyHash(presharedKey), endpoint,
                    persistentKeepalive, replaceAllowedIps, allowedIps);
        }

        /** The public key in base64 as wg prints it; the preshared key only as hidden or cleared. */
        @Override
        public String toString() {
            return "PeerChange[publicKey=" + Base64.getEncoder().encodeToString(publicKey) + ", remove=" + remove
                    + ", updateOnly=" + updateOnly + ", presharedKey=" + hidden(presharedKey)
                    + ", endpoint=" + endpoint.map(Object::toString).orElse("unchanged")
                    + ", persistentKeepalive=" + persistentKeepalive + ", replaceAllowedIps=" + replaceAllowedIps
                    + ", allowedIps=" + allowedIps + "]";
        }
    }

    /**
     * One {@code allowed_ip=} line: {@code 10.0.0.0/24} adds the prefix, {@code -10.0.0.0/24}
     * removes it (newer wireguard-go and {@code wg set ... allowed-ips -10.0.0.0/24}).
     */
    public record AllowedIpChange(Cidr cidr, boolean remove) {
        public AllowedIpChange {
            Objects.requireNonNull(cidr, "cidr");
        }

        public static AllowedIpChange add(Cidr cidr) {
            return new AllowedIpChange(cidr, false);
        }

        public static AllowedIpChange remove(Cidr cidr) {
            return new AllowedIpChange(cidr, true);
        }

        /** As the line value: {@code 10.0.0.0/24} or {@code -10.0.0.0/24}. */
        @Override
        public String toString() {
            return (remove ? "-" : "") + cidr;
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SetRequest r && keysEqual(privateKey, r.privateKey) && listenPort.equals(r.listenPort)
                && fwmark.equals(r.fwmark) && replacePeers == r.replacePeers && peers.equals(r.peers);
    }

    @Override
    public int hashCode() {
        return Objects.hash(keyHash(privateKey), listenPort, fwmark, replacePeers, peers);
    }

    /** Never shows the private key. */
    @Override
    public String toString() {
        return "SetRequest[privateKey=" + hidden(privateKey) + ", listenPort=" + listenPort
                + ", fwmark=" + (fwmark.isPresent() ? Integer.toUnsignedString(fwmark.getAsInt()) : "unchanged")
                + ", replacePeers=" + replacePeers + ", peers=" + peers + "]";
    }

    static boolean isZero(byte[] key) {
        int any = 0;
        for (byte b : key) {
            any |= b;
        }
        return any == 0;
    }

    private static Optional<byte[]> copyKey(Optional<byte[]> key, String what) {
        Objects.requireNonNull(key, what);
        if (key.isPresent() && key.get().length != 32) {
            throw new IllegalArgumentException(what + " must be 32 bytes");
        }
        return key.map(byte[]::clone);
    }

    private static boolean keysEqual(Optional<byte[]> a, Optional<byte[]> b) {
        return a.isPresent() == b.isPresent() && (a.isEmpty() || Arrays.equals(a.get(), b.get()));
    }

    private static int keyHash(Optional<byte[]> key) {
        return key.map(Arrays::hashCode).orElse(0);
    }

    private static String hidden(Optional<byte[]> key) {
        return key.isEmpty() ? "unchanged" : isZero(key.get()) ? "(clear)" : "(hidden)";
    }
}
