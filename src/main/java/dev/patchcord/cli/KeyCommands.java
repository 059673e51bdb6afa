package dev.patchcord.cli;

import dev.patchcord.core.wg.Keys;
import dev.patchcord.core.wg.X25519;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.concurrent.Callable;

/** {@code genkey}, {@code pubkey} and {@code genpsk}, interchangeable with {@code wg}'s. */
final class KeyCommands {
    private KeyCommands() {}

    private static final SecureRandom RANDOM = new SecureRandom();

    @Command(name = "genkey", description = "Print a new private key (base64), as 'wg genkey'.",
            footer = {"", "Example:", "  umask 077; patchcord genkey | tee private.key | patchcord pubkey > public.key"})
    static final class Genkey implements Callable<Integer> {
        @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
        boolean help;

        @Override
        public Integer call() {
            System.out.println(Keys.toBase64(X25519.generatePrivate(RANDOM)));
            return 0;
        }
    }

    @Command(name = "genpsk", description = "Print a new preshared key (base64), as 'wg genpsk'.",
            footer = {"", "Example:", "  umask 077; patchcord genpsk > peer.psk   # a [Peer]'s PresharedKey, both sides"})
    static final class Genpsk implements Callable<Integer> {
        @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
        boolean help;

        @Override
        public Integer call() {
            byte[] psk = new byte[32];
            RANDOM.nextBytes(psk);
            System.out.println(Keys.toBase64(psk));
            return 0;
        }
    }

    @Command(name = "pubkey", description = "Read a private key on standard input, print its public key, as 'wg pubkey'.",
            footer = {"", "Example:", "  patchcord pubkey < private.key > public.key"})
    static final class Pubkey implements Callable<Integer> {
        @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
        boolean help;

        @Override
        public Integer call() throws IOException {
            byte[] in = System.in.readNBytes(1024);
            String text = new String(in, StandardCharsets.US_ASCII).strip();
            byte[] privateKey;
            try {
                privateKey = Keys.fromBase64(text);
            } catch (IllegalArgumentException e) {
                throw new UserError("a private key is expected on standard input: " + e.getMessage());
            }
            System.out.println(Keys.toBase64(X25519.publicKey(privateKey)));
            return 0;
        }
    }
}
