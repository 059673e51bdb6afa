package dev.patchcord.control;

import dev.patchcord.control.SetRequest.AllowedIpChange;
import dev.patchcord.control.SetRequest.PeerChange;
import dev.patchcord.control.UapiDevice.DeviceState;
import dev.patchcord.control.UapiDevice.PeerState;
import dev.patchcord.control.UapiServerTest.FakeDevice;
import dev.patchcord.core.Cidr;
import dev.patchcord.sys.Libc;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The unmodified {@code wg} from wireguard-tools against {@link UapiServer} with an in-memory
 * device, on the real {@code /var/run/wireguard}: what {@code wg show} prints, and what
 * {@code wg set}, {@code wg syncconf} and {@code wg setconf} send. Needs root (the directory is
 * root's) and {@code wg}; skipped without them, except that under CI missing root is a failure.
 */
class UapiWithWgToolIT {
    private static final SecureRandom RANDOM = new SecureRandom();
    private static Path wg;

    private final byte[] privateKey = randomKey();
    private final byte[] peerA = randomKey();
    private final byte[] peerB = randomKey();
    private final byte[] pskB = randomKey();
    private final FakeDevice device = new FakeDevice();
    private String name;
    private UapiServer server;
    private long handshakeSeconds;

    @TempDir
    Path tmp;

    @BeforeAll
    static void requirements() {
        boolean root = Libc.geteuid() == 0;
        if (!root && System.getenv("CI") != null) {
            Assertions.fail("UapiWithWgToolIT needs root (for /var/run/wireguard), and CI must run it");
        }
        Assumptions.assumeTrue(root, "UapiWithWgToolIT needs root; skipped");
        wg = onPath("wg");
        Assumptions.assumeTrue(wg != null, "wg (wireguard-tools) is not installed; skipped");
    }

    @BeforeEach
    void start() throws IOException {
        name = "pcu" + HexFormat.of().toHexDigits(RANDOM.nextInt()).substring(0, 6);
        handshakeSeconds = System.currentTimeMillis() / 1000 - 65;
        device.setPrivateKey(privateKey, 51820);
        device.set(List.of(
                new PeerState(peerA, null, new InetSocketAddress(Cidr.parseAddress("192.0.2.1"), 51820),
                        handshakeSeconds * 1_000_000_000L + 123, 2048, 1_024_000, 25,
                        List.of(Cidr.parse("10.9.0.2/32"), Cidr.parse("fd00:9::2/128")), Map.of("drops", "17")),
                new PeerState(peerB, pskB, new InetSocketAddress(Cidr.parseAddress("2001:db8::7"), 443),
                        0, 0, 0, 0, List.of())));
        server = new UapiServer(name, device, System.err);
    }

    @AfterEach
    void stop() {
        if (server != null) {
            server.close();
            assertThat(UapiServer.DEFAULT_DIRECTORY.resolve(name + ".sock")).doesNotExist();
        }
    }

    @Test
    void wgShowListsTheFakePeers() throws Exception {
        String show = run("show", name);
        assertThat(show).contains("interface: " + name, "public key: ", "private key: (hidden)",
                "listening port: 51820",
                "peer: " + b64(peerA), "endpoint: 192.0.2.1:51820", "allowed ips: 10.9.0.2/32, fd00:9::2/128",
                "transfer: 2.00 KiB received, 1000.00 KiB sent", "persistent keepalive: every 25 seconds",
                "peer: " + b64(peerB), "preshared key: (hidden)", "endpoint: [2001:db8::7]:443",
                "allowed ips: (none)");
        assertThat(show).containsPattern("latest handshake: 1 minute, [0-9]+ seconds? ago");
        assertThat(show).doesNotContain("patchcord", "drops");

        List<String> dump = run("show", name, "dump").lines().toList();
        assertThat(dump.getFirst()).startsWith(b64(privateKey) + "\t").endsWith("\t51820\toff");
        assertThat(dump.subList(1, dump.size())).containsExactly(
                String.join("\t", b64(peerA), "(none)", "192.0.2.1:51820", "10.9.0.2/32,fd00:9::2/128",
                        Long.toString(handshakeSeconds), "2048", "1024000", "25"),
                String.join("\t", b64(peerB), b64(pskB), "[2001:db8::7]:443", "(none)", "0", "0", "0", "off"));
        assertThat(run("show", "interfaces").split("\\s+")).contains(name);
    }

    @Test
    void wgShowconfPrintsAConfig() throws Exception {
        device.set(new SetRequest(Optional.empty(), OptionalInt.empty(), OptionalInt.of(0x1234), false, List.of()));
        assertThat(run("showconf", name)).isEqualTo("""
                [Interface]
                ListenPort = 51820
                FwMark = 0x1234
                PrivateKey = %s

                [Peer]
                PublicKey = %s
                AllowedIPs = 10.9.0.2/32, fd00:9::2/128
                Endpoint = 192.0.2.1:51820
                PersistentKeepalive = 25

                [Peer]
                PublicKey = %s
                PresharedKey = %s
                Endpoint = [2001:db8::7]:443
                """.formatted(b64(privateKey), b64(peerA), b64(peerB), b64(pskB)));
    }

    @Test
    void wgSetArrivesAsTheRightRequest() throws Exception {
        byte[] peerC = randomKey();
        run("set", name, "peer", b64(peerC), "allowed-ips", "10.9.0.0/24", "endpoint", "127.0.0.1:51820",
                "persistent-keepalive", "25");
        assertThat(device.received).containsExactly(new SetRequest(Optional.empty(), OptionalInt.empty(),
                OptionalInt.empty(), false, List.of(new PeerChange(peerC, false, false, Optional.empty(),
                        Optional.of(new InetSocketAddress(Cidr.parseAddress("127.0.0.1"), 51820)), OptionalInt.of(25),
                        true, List.of(AllowedIpChange.add(Cidr.parse("10.9.0.0/24")))))));
        assertThat(run("show", name, "peers").lines()).containsExactlyInAnyOrder(b64(peerA), b64(peerB), b64(peerC));

        device.received.clear();
        run("set", name, "peer", b64(peerA), "remove");
        assertThat(device.received).containsExactly(new SetRequest(Optional.empty(), OptionalInt.empty(),
                OptionalInt.empty(), false, List.of(new PeerChange(peerA, true, false, Optional.empty(),
                        Optional.empty(), OptionalInt.empty(), false, List.of()))));
        assertThat(run("show", name, "peers").lines()).containsExactlyInAnyOrder(b64(peerB), b64(peerC));

        device.received.clear();
        Path emptyKey = Files.writeString(tmp.resolve("empty"), "");
        run("set", name, "listen-port", "0", "fwmark", "off", "peer", b64(peerB), "preshared-key", emptyKey.toString());
        SetRequest r = device.received.getFirst();
        assertThat(r.listenPort()).hasValue(0);
        assertThat(r.fwmark()).hasValue(0);
        assertThat(r.peers()).singleElement().satisfies(p -> assertThat(p.clearsPresharedKey()).isTrue());
        assertThat(run("show", name, "preshared-keys")).contains(b64(peerB) + "\t(none)");
    }

    @Test
    void wgSyncconfAndSetconfMakeTheDeviceMatchTheFile() throws Exception {
        byte[] newPrivate = randomKey();
        byte[] peerD = randomKey();
        byte[] pskD = randomKey();
        Path conf = Files.writeString(tmp.resolve(name + ".conf"), """
                [Interface]
                PrivateKey = %s
                ListenPort = 51999

                [Peer]
                PublicKey = %s
                AllowedIPs = 10.7.0.0/16
                Endpoint = 198.51.100.4:51820

                [Peer]
                PublicKey = %s
                PresharedKey = %s
                AllowedIPs = 10.6.0.1/32, fd00:6::/64
                PersistentKeepalive = 15
                """.formatted(b64(newPrivate), b64(peerB), b64(peerD), b64(pskD)));
        run("syncconf", name, conf.toString());
        DeviceState state = device.get();
        assertThat(state.privateKey()).isEqualTo(newPrivate);
        assertThat(state.listenPort()).isEqualTo(51999);
        assertThat(state.peers()).extracting(p -> b64(p.publicKey())).containsExactly(b64(peerB), b64(peerD));
        PeerState b = state.peers().get(0);
        PeerState d = state.peers().get(1);
        assertThat(b.allowedIps()).containsExactly(Cidr.parse("10.7.0.0/16"));
        assertThat(b.endpoint()).isEqualTo(new InetSocketAddress(Cidr.parseAddress("198.51.100.4"), 51820));
        assertThat(b.presharedKey()).as("wg syncconf leaves a preshared key the file does not mention").isEqualTo(pskB);
        assertThat(d.presharedKey()).isEqualTo(pskD);
        assertThat(d.allowedIps()).containsExactly(Cidr.parse("10.6.0.1/32"), Cidr.parse("fd00:6::/64"));
        assertThat(d.persistentKeepalive()).isEqualTo(15);
        assertThat(device.received).noneMatch(SetRequest::replacePeers);

        device.received.clear();
        run("setconf", name, conf.toString());
        assertThat(device.received).singleElement().satisfies(req -> assertThat(req.replacePeers()).isTrue());
        DeviceState replaced = device.get();
        assertThat(replaced.peers()).containsExactly(new PeerState(peerB, null, b.endpoint(), 0, 0, 0, 0,
                b.allowedIps()), d);
        assertThat(replaced.privateKey()).isEqualTo(newPrivate);
    }

    @Test
    void errorsReachWgAsWireguardGoSendsThem() throws Exception {
        device.failure = new UapiException(UapiException.EADDRINUSE, "port 1 is taken");
        Result set = start("set", name, "listen-port", "1");
        assertThat(set.exit()).isEqualTo(1);
        assertThat(set.err()).contains("Unable to modify interface: Address already in use");
        device.crash = true;
        Result show = start("show", name);
        assertThat(show.exit()).isEqualTo(1);
        assertThat(show.err()).contains("Unable to access interface: Protocol error");
    }

    record Result(int exit, String out, String err) {}

    /** Runs wg and requires success. */
    private static String run(String... args) throws Exception {
        Result r = start(args);
        assertThat(r.exit()).as("wg %s failed: %s", String.join(" ", args), r.err()).isZero();
        return r.out();
    }

    private static Result start(String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(wg.toString()));
        command.addAll(Arrays.asList(args));
        Process p = new ProcessBuilder(command).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .start();
        byte[][] stderr = new byte[1][];
        Thread errReader = Thread.ofVirtual().start(() -> {
            try {
                stderr[0] = p.getErrorStream().readAllBytes();
            } catch (IOException e) {
                stderr[0] = e.toString().getBytes(StandardCharsets.UTF_8);
            }
        });
        byte[] stdout = p.getInputStream().readAllBytes();
        errReader.join();
        if (!p.waitFor(10, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("wg " + String.join(" ", args) + " did not finish in 10 s");
        }
        return new Result(p.exitValue(), new String(stdout, StandardCharsets.UTF_8),
                new String(stderr[0], StandardCharsets.UTF_8));
    }

    private static Path onPath(String program) {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
            Path p = Path.of(dir.isEmpty() ? "." : dir, program);
            if (Files.isExecutable(p)) {
                return p;
            }
        }
        for (String dir : List.of("/usr/bin", "/usr/sbin", "/usr/local/bin")) {
            if (Files.isExecutable(Path.of(dir, program))) {
                return Path.of(dir, program);
            }
        }
        return null;
    }

    private static byte[] randomKey() {
        byte[] k = new byte[32];
        RANDOM.nextBytes(k);
        return k;
    }

    private static String b64(byte[] key) {
        return Base64.getEncoder().encodeToString(key);
    }
}
