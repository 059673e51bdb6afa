package dev.patchcord.control;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.patchcord.core.mesh.DirectoryAuth;
import dev.patchcord.core.mesh.Probe;
import dev.patchcord.core.wg.Keys;
import dev.patchcord.core.wg.X25519;

import javax.net.ssl.SSLContext;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Base64;
import java.util.List;

/**
 * A node's side of the directory protocol (docs/protocol.md, part 2): the signed sync request
 * over HTTPS, the checks on the answer, and the probe datagram. TLS certificates and host names
 * are verified by the JDK's HTTP client.
 */
public final class DirectoryClient {
    /** A generous bound on an answer: 100,000 peers would not fill it. */
    static final int MAX_ANSWER = 32 << 20;
    private static final Duration TIMEOUT = Duration.ofSeconds(15);

    private final URI sync;
    private final byte[] publicKey;
    private final byte[] pairKey;
    private final HttpClient http;

    /** The directory's table as this node last received it, and where the directory sees it. */
    public record Answer(List<MeshPeer> peers, String observed) {}

    /** Why a sync failed, in one line. */
    public static final class DirectoryException extends Exception {
        public DirectoryException(String message) {
            super(message);
        }
    }

    /**
     * @param ssl trusted CAs, or null for the JDK's
     */
    public DirectoryClient(URI directory, byte[] privateKey, byte[] directoryKey, SSLContext ssl) {
        String base = directory.toString();
        this.sync = URI.create(base.endsWith("/") ? base + "v1/sync" : base + "/v1/sync");
        this.publicKey = X25519.publicKey(privateKey);
        this.pairKey = DirectoryAuth.pairKey(privateKey, directoryKey);
        HttpClient.Builder b = HttpClient.newBuilder().connectTimeout(TIMEOUT).followRedirects(HttpClient.Redirect.NEVER);
        if (ssl != null) {
            b.sslContext(ssl);
        }
        this.http = b.build();
    }

    /** The probe to send from the tunnel's socket before a sync. */
    public byte[] probe(long nowMillis) {
        return Probe.encode(publicKey, nowMillis, pairKey);
    }

    /** The signed request body for {@link #sync}; separate so tests can look at it. */
    byte[] requestBody(List<Endpoint> declared, long nowMillis) {
        ObjectNode o = PeerList.mapper().createObjectNode();
        o.put("publicKey", Keys.toBase64(publicKey));
        o.put("time", nowMillis);
        var eps = o.putArray("endpoints");
        declared.stream().limit(PeerList.MAX_ENDPOINTS).forEach(e -> eps.add(e.toString()));
        try {
            return PeerList.mapper().writeValueAsBytes(o);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Registers the declared endpoints and returns the table. */
    public Answer sync(List<Endpoint> declared, long nowMillis) throws DirectoryException, InterruptedException {
        byte[] body = requestBody(declared, nowMillis);
        HttpRequest req = HttpRequest.newBuilder(sync).timeout(TIMEOUT)
                .header("Content-Type", "application/json")
                .header("Patchcord-Mac", Base64.getEncoder().encodeToString(DirectoryAuth.mac(pairKey, body)))
                .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build();
        HttpResponse<InputStream> r;
        byte[] answer;
        try {
            r = http.send(req, HttpResponse.BodyHandlers.ofInputStream());
            try (InputStream in = r.body()) {
                answer = in.readNBytes(MAX_ANSWER + 1);
            }
        } catch (IOException e) {
            throw new DirectoryException("cannot reach " + sync + ": " + HostsUrl.describe(e));
        }
        return check(r.statusCode(), r.headers().firstValue("Patchcord-Mac").orElse(null), answer, nowMillis);
    }

    /** The rules a node applies to an answer; package-private for tests. */
    Answer check(int status, String macHeader, byte[] answer, long sentTime) throws DirectoryException {
        if (answer.length > MAX_ANSWER) {
            throw new DirectoryException("answer larger than " + (MAX_ANSWER >> 20) + " MiB");
        }
        if (status != 200) {
            throw new DirectoryException("HTTP " + status + " from " + sync + errorText(answer));
        }
        byte[] mac;
        try {
            mac = macHeader == null ? null : Base64.getDecoder().decode(macHeader.strip());
        } catch (IllegalArgumentException e) {
            mac = null;
        }
        if (!DirectoryAuth.verify(pairKey, answer, mac)) {
            throw new DirectoryException("the answer's MAC does not verify (is DirectoryKey the directory's public key?)");
        }
        JsonNode root;
        try {
            root = PeerList.mapper().readTree(answer);
        } catch (IOException e) {
            throw new DirectoryException("the answer is not valid JSON");
        }
        if (root == null || !root.isObject()) {
            throw new DirectoryException("the answer is not a JSON object");
        }
        JsonNode request = root.get("request");
        if (request == null || !request.canConvertToLong() || request.asLong() != sentTime) {
            throw new DirectoryException("the answer is not for this request (a replayed answer?)");
        }
        String observed = null;
        JsonNode o = root.get("observed");
        if (o != null && o.isTextual()) {
            try {
                observed = Endpoint.parse(o.asText()).toString();
            } catch (IllegalArgumentException e) {
                throw new DirectoryException("the answer's 'observed' is not HOST:PORT");
            }
        }
        try {
            return new Answer(PeerList.parsePeers(root.get("peers"), false), observed);
        } catch (PeerList.PeerListException e) {
            throw new DirectoryException("the answer's peer list: " + e.getMessage());
        }
    }

    private static String errorText(byte[] body) {
        try {
            JsonNode n = PeerList.mapper().readTree(body);
            if (n != null && n.hasNonNull("error")) {
                String s = n.get("error").asText();
                return ": " + (s.length() > 200 ? s.substring(0, 200) : s).replaceAll("\\p{Cntrl}", "?");
            }
        } catch (IOException | RuntimeException e) {
            // not JSON: the status says enough
        }
        return "";
    }
}
