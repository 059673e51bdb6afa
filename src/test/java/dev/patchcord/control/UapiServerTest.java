package dev.patchcord.control;

import dev.patchcord.control.SetRequest.AllowedIpChange;
import dev.patchcord.control.SetRequest.PeerChange;
import dev.patchcord.control.UapiDevice.DeviceState;
import dev.patchcord.control.UapiDevice.PeerState;
import dev.patchcord.core.Cidr;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;

import static dev.patchcord.control.UapiProtocolTest.PUB_A;
import static dev.patchcord.control.UapiProtocolTest.PUB_B;
import static dev.patchcord.control.UapiProtocolTest.key;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class UapiServerTest {
    @TempDir
    Path dir;
    final FakeDevice device = new FakeDevice();
    final List<UapiServer> servers = new ArrayList<>();
    final ByteArrayOutputStream logBytes = new ByteArrayOutputStream();
    final PrintStream log = new PrintStream(logBytes, true, StandardCharsets.UTF_8);

    @AfterEach
    void closeServers() {
        servers.forEach(UapiServer::close);
    }

    UapiServer start(String name) throws IOException {
        UapiServer s = new UapiServer(dir, name, device, log);
        servers.add(s);
        return s;
    }

    @Test
    void getReturnsTheDeviceState() throws IOException {
        device.set(List.of(new PeerState(key(PUB_A), null, new InetSocketAddress(Cidr.parseAddress("192.0.2.1"), 51820),
                1_700_000_000_000_000_000L, 10, 20, 25, List.of(Cidr.parse("10.0.0.2/32")), Map.of("drops", "4"))));
        UapiServer server = start("wg0");
        String reply = UapiClient.request(server.socketPath(), "get=1\n\n");
        assertThat(reply).isEqualTo(UapiProtocol.formatGet(device.get()))
                .contains("public_key=" + PUB_A + "\n", "patchcord_drops=4\n", "endpoint=192.0.2.1:51820\n")
                .endsWith("errno=0\n\n");
    }

    @Test
    void setArrivesParsedAndIsVisibleInTheNextGet() throws IOException {
        UapiServer server = start("wg0");
        String reply = UapiClient.request(server.socketPath(), "set=1\nlisten_port=4000\npublic_key=" + PUB_B
                + "\nendpoint=[fd00::9]:51820\nallowed_ip=10.8.0.0/24\n\n");
        assertThat(reply).isEqualTo("errno=0\n\n");
        assertThat(device.received).hasSize(1);
        assertThat(device.received.getFirst().listenPort()).hasValue(4000);
        assertThat(device.received.getFirst().peers().getFirst().allowedIps())
                .containsExactly(AllowedIpChange.add(Cidr.parse("10.8.0.0/24")));
        assertThat(UapiClient.request(server.socketPath(), "get=1\n\n"))
                .startsWith("listen_port=4000\npublic_key=" + PUB_B + "\n")
                .contains("endpoint=[fd00::9]:51820\n", "allowed_ip=10.8.0.0/24\n");
    }

    @Test
    void errorsAreNegativeErrnoAndNothingIsApplied() throws IOException {
        UapiServer server = start("wg0");
        assertThat(UapiClient.request(server.socketPath(), "set=1\nlisten_port=1\nbogus=1\n\n"))
                .isEqualTo("errno=-22\n\n");
        assertThat(UapiClient.request(server.socketPath(), "set=1\nno equals sign\n\n")).isEqualTo("errno=-71\n\n");
        assertThat(device.received).isEmpty();
        device.failure = new UapiException(UapiException.EADDRINUSE, "port 1 is taken");
        assertThat(UapiClient.request(server.socketPath(), "set=1\nlisten_port=1\n\n")).isEqualTo("errno=-98\n\n");
        device.crash = true;
        assertThat(UapiClient.request(server.socketPath(), "get=1\n\nset=1\n\n"))
                .isEqualTo("errno=-5\n\nerrno=-5\n\n");
    }

    @Test
    void oneConnectionCarriesSeveralRequests() throws IOException {
        UapiServer server = start("wg0");
        String replies = UapiClient.request(server.socketPath(),
                "get=1\n\nset=1\nlisten_port=5\n\nset=1\nfoo=1\n\nget=1\n\n");
        assertThat(replies).isEqualTo("errno=0\n\nerrno=0\n\nerrno=-22\n\nlisten_port=5\nerrno=0\n\n");

        try (SocketChannel c = SocketChannel.open(UnixDomainSocketAddress.of(server.socketPath()))) {
            for (int port = 100; port < 103; port++) {
                send(c, "set=1\nlisten_port=" + port + "\n\n");
                assertThat(readReply(c)).isEqualTo("errno=0\n\n");
                send(c, "get=1\n\n");
                assertThat(readReply(c)).isEqualTo("listen_port=" + port + "\nerrno=0\n\n");
            }
        }
    }

    @Test
    void endOfStreamEndsASetLikeInWireguardGo() throws IOException {
        UapiServer server = start("wg0");
        assertThat(UapiClient.request(server.socketPath(), "set=1\nlisten_port=9")).isEqualTo("errno=0\n\n");
        assertThat(device.get().listenPort()).isEqualTo(9);
    }

    @Test
    void oversizeRequestsAndLinesAreRejectedAndTheConnectionClosed() throws IOException {
        UapiServer small = new UapiServer(dir, "wg1", device, log, 4096);
        servers.add(small);
        StringBuilder big = new StringBuilder("set=1\n");
        while (big.length() < 100_000) {
            big.append("public_key=").append(PUB_A).append("\nallowed_ip=10.0.0.0/8\n");
        }
        assertThat(UapiClient.request(small.socketPath(), big + "\n")).isEqualTo("errno=-90\n\n");
        UapiServer server = start("wg0");
        assertThat(UapiClient.request(server.socketPath(), "set=1\nlisten_port=" + "1".repeat(5000) + "\n\nget=1\n\n"))
                .isEqualTo("errno=-90\n\n");
        assertThat(device.received).isEmpty();
        assertThat(logBytes.toString(StandardCharsets.UTF_8)).isEqualTo(
                "patchcord: wg1: uapi: request is longer than 4096 bytes\n"
                + "patchcord: wg0: uapi: request has a line longer than 4096 bytes\n");
    }

    @Test
    void connectionsBeyondTheLimitAreClosedAndSaidAndAFreedSlotIsReused() throws Exception {
        UapiServer server = start("wg0");
        List<SocketChannel> open = new ArrayList<>();
        try {
            for (int i = 0; i < UapiServer.MAX_CONNECTIONS; i++) {
                SocketChannel c = SocketChannel.open(java.net.UnixDomainSocketAddress.of(server.socketPath()));
                open.add(c);
                send(c, "get=1\n\n");
                assertThat(readReply(c)).as("connection %d", i).endsWith("errno=0\n\n");
            }
            try (SocketChannel extra = SocketChannel.open(java.net.UnixDomainSocketAddress.of(server.socketPath()))) {
                assertThat(extra.read(ByteBuffer.allocate(1))).as("closed at once").isEqualTo(-1);
            }
            assertThat(logBytes.toString(StandardCharsets.UTF_8))
                    .isEqualTo("patchcord: wg0: uapi: refusing a connection: 64 are open already\n");
            open.removeFirst().close();
            String reply = null;
            for (int attempt = 0; attempt < 100 && reply == null; attempt++) {
                try {
                    reply = UapiClient.request(server.socketPath(), "get=1\n\n");
                } catch (IOException refused) {
                    reply = "";
                }
                if (reply.isEmpty()) {
                    reply = null;
                    Thread.sleep(20); // the server notices the closed connection on its own thread
                }
            }
            assertThat(reply).endsWith("errno=0\n\n");
        } finally {
            for (SocketChannel c : open) {
                c.close();
            }
        }
    }

    @Test
    void garbageGetsAnErrorAndTheServerKeepsServing() throws IOException {
        UapiServer server = start("wg0");
        assertThat(UapiClient.request(server.socketPath(), "hello\nget=1\n\n")).isEqualTo("errno=-22\n\n");
        assertThat(UapiClient.request(server.socketPath(), "get=1\nx\n\nget=1\n\n")).isEqualTo("errno=-22\n\n");
        assertThat(UapiClient.request(server.socketPath(), "get=1\r\n\r\n")).isEqualTo("errno=-22\n\n");
        assertThat(logBytes.toString(StandardCharsets.UTF_8)).isEqualTo(
                "patchcord: wg0: uapi: unknown operation 'hello' (expected get=1 or set=1)\n"
                + "patchcord: wg0: uapi: get=1 is followed by 'x' instead of an empty line\n"
                + "patchcord: wg0: uapi: unknown operation 'get=1?' (expected get=1 or set=1)\n");
        Random random = new Random(42);
        for (int i = 0; i < 50; i++) {
            byte[] junk = new byte[random.nextInt(3000)];
            random.nextBytes(junk);
            String prefix = i % 2 == 0 ? "set=1\n" : "";
            UapiClient.request(server.socketPath(), prefix + new String(junk, StandardCharsets.ISO_8859_1));
        }
        assertThat(UapiClient.request(server.socketPath(), "get=1\n\n")).endsWith("errno=0\n\n");
    }

    @Test
    void socketFileIs0600InA0755DirectoryAndRemovedOnClose() throws IOException {
        Path sub = dir.resolve("run/wireguard");
        UapiServer server = new UapiServer(sub, "pc0", device, null);
        servers.add(server);
        Path socket = sub.resolve("pc0.sock");
        assertThat(server.socketPath()).isEqualTo(socket);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(socket))).isEqualTo("rw-------");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(sub))).isEqualTo("rwxr-xr-x");
        assertThat((Integer) Files.getAttribute(socket, "unix:mode") & 0170000).isEqualTo(0140000);
        try (var listing = Files.list(sub)) {
            assertThat(listing).containsExactly(socket);
        }
        assertThat(server.socketFileIntact()).isTrue();
        SocketChannel open = SocketChannel.open(UnixDomainSocketAddress.of(socket));
        send(open, "get=1\n\n");
        assertThat(readReply(open)).isEqualTo("errno=0\n\n");
        server.close();
        assertThat(socket).doesNotExist();
        assertThat(server.socketFileIntact()).isFalse();
        assertThat(open.read(ByteBuffer.allocate(10))).isEqualTo(-1);
        open.close();
        server.close();
    }

    @Test
    void staleSocketIsReplacedButALiveOneIsNot() throws IOException {
        Path socket = dir.resolve("wg0.sock");
        try (ServerSocketChannel dead = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            dead.bind(UnixDomainSocketAddress.of(socket));
        }
        assertThat(socket).exists();
        UapiServer server = start("wg0");
        assertThat(UapiClient.request(socket, "get=1\n\n")).isEqualTo("errno=0\n\n");

        assertThatThrownBy(() -> start("wg0")).isInstanceOf(IOException.class)
                .hasMessage("interface wg0 is already served by another process (" + socket + " answers)");
        assertThat(UapiClient.request(socket, "get=1\n\n")).isEqualTo("errno=0\n\n");
        server.close();

        Files.writeString(dir.resolve("wg2.sock"), "not a socket");
        assertThatThrownBy(() -> start("wg2")).isInstanceOf(IOException.class)
                .hasMessage(dir.resolve("wg2.sock") + " exists and is not a socket; remove it first");
        assertThat(dir.resolve("wg2.sock")).hasContent("not a socket");
    }

    @Test
    void closeDoesNotDeleteASocketThatIsNoLongerOurs() throws IOException {
        UapiServer server = start("wg0");
        Files.delete(server.socketPath());
        Files.writeString(server.socketPath(), "someone else's");
        server.close();
        assertThat(server.socketPath()).hasContent("someone else's");
    }

    @Test
    void interfaceNamesAreChecked() {
        for (String bad : List.of("", "a/b", "..", "sixteen-chars-xx", "wg 0", "wg:1")) {
            assertThatThrownBy(() -> start(bad)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("is not a valid interface name");
        }
    }

    static void send(SocketChannel c, String text) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(text.getBytes(StandardCharsets.US_ASCII));
        while (b.hasRemaining()) {
            c.write(b);
        }
    }

    /** One reply: everything up to the first empty line, read without waiting for the connection to end. */
    static String readReply(SocketChannel c) throws IOException {
        StringBuilder sb = new StringBuilder();
        ByteBuffer one = ByteBuffer.allocate(1);
        while (!(sb.toString().endsWith("\n\n") || sb.toString().equals("\n"))) {
            one.clear();
            if (c.read(one) < 0) {
                throw new IOException("connection closed after: " + sb);
            }
            sb.append((char) one.get(0));
        }
        return sb.toString();
    }

    /**
     * An in-memory device that applies set requests with wireguard-go's semantics and records them,
     * so that tests (and {@link UapiWithWgToolIT}) can check what arrived.
     */
    static final class FakeDevice implements UapiDevice {
        final List<SetRequest> received = new CopyOnWriteArrayList<>();
        volatile UapiException failure;
        volatile boolean crash;
        private byte[] privateKey;
        private int listenPort;
        private int fwmark;
        private final Map<String, PeerState> peers = new LinkedHashMap<>();

        synchronized void set(List<PeerState> list) {
            peers.clear();
            list.forEach(p -> peers.put(HexFormat.of().formatHex(p.publicKey()), p));
        }

        synchronized void setPrivateKey(byte[] key, int port) {
            privateKey = key;
            listenPort = port;
        }

        @Override
        public synchronized DeviceState get() {
            if (crash) {
                throw new IllegalStateException("simulated crash");
            }
            return new DeviceState(privateKey, listenPort, fwmark, List.copyOf(peers.values()));
        }

        @Override
        public synchronized void set(SetRequest r) throws UapiException {
            if (crash) {
                throw new IllegalStateException("simulated crash");
            }
            received.add(r);
            if (failure != null) {
                throw failure;
            }
            r.privateKey().ifPresent(k -> privateKey = r.clearsPrivateKey() ? null : k);
            r.listenPort().ifPresent(p -> listenPort = p);
            r.fwmark().ifPresent(m -> fwmark = m);
            if (r.replacePeers()) {
                peers.clear();
            }
            for (PeerChange c : r.peers()) {
                String hex = HexFormat.of().formatHex(c.publicKey());
                PeerState old = peers.get(hex);
                if (c.remove()) {
                    peers.remove(hex);
                    continue;
                }
                if (c.updateOnly() && old == null) {
                    continue;
                }
                byte[] psk = old == null ? null : old.presharedKey();
                if (c.presharedKey().isPresent()) {
                    psk = c.clearsPresharedKey() ? null : c.presharedKey().get();
                }
                List<Cidr> ips = new ArrayList<>(old == null || c.replaceAllowedIps() ? List.of() : old.allowedIps());
                for (AllowedIpChange change : c.allowedIps()) {
                    ips.remove(change.cidr());
                    if (!change.remove()) {
                        ips.add(change.cidr());
                    }
                }
                peers.put(hex, new PeerState(c.publicKey(), psk,
                        c.endpoint().orElse(old == null ? null : old.endpoint()),
                        old == null ? 0 : old.lastHandshakeEpochNanos(), old == null ? 0 : old.rxBytes(),
                        old == null ? 0 : old.txBytes(),
                        c.persistentKeepalive().orElse(old == null ? 0 : old.persistentKeepalive()), ips,
                        old == null ? Map.of() : old.extensions()));
            }
        }
    }
}
