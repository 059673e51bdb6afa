package dev.patchcord.control;

import dev.patchcord.core.Cidr;

import java.util.List;
import java.util.stream.Collectors;

/**
 * The wg-quick configuration of a new client of a server, as {@code patchcord peer add} prints it
 * and its QR code carries: only keys the official WireGuard apps know, so any of them can import
 * it.
 *
 * @param name the client's name, kept as a comment
 * @param privateKey the client's private key (base64)
 * @param addresses the client's own addresses (single-host prefixes)
 * @param dns DNS servers for the client, or empty
 * @param serverPublicKey the server's public key (base64)
 * @param presharedKey the pair's preshared key (base64), or null
 * @param allowedIps what the client sends through the tunnel
 * @param endpoint where the client reaches the server (HOST:PORT)
 * @param keepalive PersistentKeepalive seconds, 0 for none
 */
public record ClientConfig(String name, String privateKey, List<Cidr> addresses, List<String> dns,
        String serverPublicKey, String presharedKey, List<Cidr> allowedIps, String endpoint, int keepalive) {

    public ClientConfig {
        addresses = List.copyOf(addresses);
        dns = List.copyOf(dns);
        allowedIps = List.copyOf(allowedIps);
    }

    /** The file's text, newline-terminated. */
    public String text() {
        StringBuilder sb = new StringBuilder();
        sb.append("# Name = ").append(name).append('\n');
        sb.append("[Interface]\n");
        sb.append("PrivateKey = ").append(privateKey).append('\n');
        sb.append("Address = ").append(join(addresses)).append('\n');
        if (!dns.isEmpty()) {
            sb.append("DNS = ").append(String.join(", ", dns)).append('\n');
        }
        sb.append("\n[Peer]\n");
        sb.append("PublicKey = ").append(serverPublicKey).append('\n');
        if (presharedKey != null) {
            sb.append("PresharedKey = ").append(presharedKey).append('\n');
        }
        sb.append("AllowedIPs = ").append(join(allowedIps)).append('\n');
        sb.append("Endpoint = ").append(endpoint).append('\n');
        if (keepalive > 0) {
            sb.append("PersistentKeepalive = ").append(keepalive).append('\n');
        }
        return sb.toString();
    }

    private static String join(List<Cidr> list) {
        return list.stream().map(Cidr::toString).collect(Collectors.joining(", "));
    }
}
