package dev.patchcord.tools;

import dev.patchcord.core.wg.Keys;
import dev.patchcord.core.wg.X25519;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.random.RandomGenerator;

/**
 * Key pairs for the handshake-rate flood ({@link HandshakeFlood}): the private keys go to the
 * flood, one [Peer] section per public key to the responder's configuration. Made in one process,
 * since a thousand runs of {@code patchcord genkey} would each start a JVM.
 */
final class PeerKeys {
    private PeerKeys() {}

    static List<byte[]> generate(int count, RandomGenerator rng) {
        List<byte[]> keys = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            keys.add(X25519.generatePrivate(rng));
        }
        return keys;
    }

    /** A [Peer] section with only the public key for each private key: the responder needs no more to answer. */
    static String peerSections(List<byte[]> privateKeys) {
        StringBuilder sb = new StringBuilder();
        for (byte[] k : privateKeys) {
            sb.append("[Peer]\nPublicKey = ").append(Keys.toBase64(X25519.publicKey(k))).append('\n');
        }
        return sb.toString();
    }

    /** The private keys, base64, one a line. */
    static String privateLines(List<byte[]> privateKeys) {
        StringBuilder sb = new StringBuilder();
        for (byte[] k : privateKeys) {
            sb.append(Keys.toBase64(k)).append('\n');
        }
        return sb.toString();
    }

    /** Writes both files; the private keys readable by their owner only. */
    static void write(List<byte[]> privateKeys, Path privateFile, Path peersFile) throws IOException {
        Files.deleteIfExists(privateFile);
        Files.createFile(privateFile, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(privateFile, privateLines(privateKeys));
        Files.writeString(peersFile, peerSections(privateKeys));
    }
}
