package dev.patchcord.control.directory;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.patchcord.control.PeerList;
import dev.patchcord.core.mesh.DirectoryAuth;
import dev.patchcord.core.mesh.Probe;
import dev.patchcord.core.wg.Keys;
import dev.patchcord.core.wg.X25519;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.random.RandomGenerator;

/** A mesh node as the directory sees it: a key pair and the requests and probes it signs. */
final class TestNode {
    final byte[] privateKey;
    final byte[] publicKey;
    final String key;
    final byte[] pairKey;

    TestNode(RandomGenerator rng, byte[] directoryPublic) {
        privateKey = X25519.generatePrivate(rng);
        publicKey = X25519.publicKey(privateKey);
        key = Keys.toBase64(publicKey);
        pairKey = DirectoryAuth.pairKey(privateKey, directoryPublic);
    }

    /** A members-file entry for this node. */
    String member(String name, String allowedIp, String extra) {
        return "{name: \"" + name + "\", publicKey: \"" + key + "\", allowedIps: [\"" + allowedIp + "\"]"
                + (extra.isEmpty() ? "" : ", " + extra) + "}";
    }

    byte[] body(long time, String... endpoints) {
        return bodyFor(key, time, endpoints);
    }

    static byte[] bodyFor(String key, long time, String... endpoints) {
        ObjectNode o = PeerList.mapper().createObjectNode();
        o.put("publicKey", key);
        o.put("time", time);
        var eps = o.putArray("endpoints");
        for (String e : endpoints) {
            eps.add(e);
        }
        return o.toString().getBytes(StandardCharsets.UTF_8);
    }

    String mac(byte[] body) {
        return Base64.getEncoder().encodeToString(DirectoryAuth.mac(pairKey, body));
    }

    byte[] probe(long time) {
        return Probe.encode(publicKey, time, pairKey);
    }

    /** Whether an answer's MAC header is the MAC of its body under this node's pair key. */
    boolean verifies(byte[] answer, String macHeader) {
        return macHeader != null && DirectoryAuth.verify(pairKey, answer, Base64.getDecoder().decode(macHeader));
    }

    static JsonNode json(byte[] body) throws Exception {
        return PeerList.mapper().readTree(body);
    }
}
