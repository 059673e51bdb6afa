package dev.patchcord.control;

import dev.patchcord.core.Cidr;
import dev.patchcord.core.wg.Keys;
import dev.patchcord.sys.Wakeup;
import dev.patchcord.testing.QueueDevice;
import dev.patchcord.transport.UdpSocket;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.function.IntConsumer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * An interface session built on an in-memory device, a loopback socket and a host network that
 * only records what it is asked: no root, no interface, yet the node, peers, addresses, routes,
 * hooks, pool and configuration socket are those of the file, and everything goes away on close.
 */
@Timeout(60)
class SessionBuilderTest {
    private static final String PRIVATE = WgConfigTest.PRIVATE;
    private static final String PEER_A = WgConfigTest.PEER_A;
    private static final String PEER_B = WgConfigTest.PEER_B;

    @TempDir
    Path dir;

    /** The host's network configuration as a list of the calls made, in order. */
    static final class RecordingNetwork implements HostNetwork {
        final List<String> calls = Collections.synchronizedList(new ArrayList<>());

        @Override
        public void setMtu(String ifname, int mtu) {
            calls.add("mtu " + ifname + " " + mtu);
        }

        @Override
        public void setUp(String ifname) {
            calls.add("up " + ifname);
        }

        @Override
        public void addAddress(String ifname, Cidr address) {
            calls.add("address add " + address);
        }

        @Override
        public void removeAddress(String ifname, Cidr address) {
            calls.add("address del " + address);
        }

        @Override
        public void addRoutes(String ifname, List<Cidr> destinations, String table) {
            calls.add("routes add " + destinations + " table " + table);
        }

        @Override
        public void removeRoutes(String ifname, List<Cidr> destinations, String table) {
            calls.add("routes del " + destinations + " table " + table);
        }

        @Override
        public boolean setDns(String ifname, List<String> servers, List<String> searchDomains) {
            calls.add("dns " + servers + " " + searchDomains);
            return true;
        }

        @Override
        public void clearDns(String ifname) {
            calls.add("dns clear");
        }

        @Override
        public Runnable watchMtu(String ifname, Wakeup wakeup, IntConsumer listener) {
            calls.add("watch mtu");
            return () -> calls.add("watch mtu stop");
        }
    }

    /** Stop requests, as the process running the session would see them. */
    static final class StopFlag implements InterfaceSession.Stop {
        volatile boolean requested;

        @Override
        public boolean stopRequested() {
            return requested;
        }

        @Override
        public void requestStop() {
            requested = true;
        }
    }

    private final RecordingNetwork network = new RecordingNetwork();
    private final ByteArrayOutputStream errBytes = new ByteArrayOutputStream();
    private final PrintStream err = new PrintStream(errBytes, true, StandardCharsets.UTF_8);
    private QueueDevice device;
    private UdpSocket socket;

    private SessionBuilder builder(String text) throws Exception {
        Path file = dir.resolve("wg7.conf");
        Files.writeString(file, text);
        WgConfig config = WgConfig.parse(file);
        return new SessionBuilder(config, file, "wg7", err)
                .host((ifname, tap, offloads, wakeup) -> device = new QueueDevice(wakeup),
                        (port, wakeup) -> socket = UdpSocket.bind(InetAddress.getLoopbackAddress(), port, wakeup), network)
                .socketDir(dir);
    }

    private String hook(String name) {
        return "echo " + name + " %i >> " + dir.resolve("hooks.log");
    }

    private List<String> hookLog() throws Exception {
        Path log = dir.resolve("hooks.log");
        return Files.exists(log) ? Files.readAllLines(log) : List.of();
    }

    private String server() {
        return "[Interface]\nPrivateKey = " + PRIVATE + "\nAddress = 10.9.0.1/24\nMTU = 1400\nTable = 1234\n"
                + "DNS = 10.9.0.53, example.net\n"
                + "PreUp = " + hook("PreUp") + "\nPostUp = " + hook("PostUp") + "\n"
                + "PreDown = " + hook("PreDown") + "\nPostDown = " + hook("PostDown") + "\n"
                + "[Pool]\nRange = 10.9.0.0/24\nLeaseFile = " + dir.resolve("leases/wg7.leases") + "\n"
                + "[Peer]\nPublicKey = " + PEER_A + "\nAllowedIPs = 10.9.1.0/24\nEndpoint = 127.0.0.1:51999\n"
                + "PersistentKeepalive = 25\n"
                + "[Peer]\nPublicKey = " + PEER_B + "\nAllowedIPs = 10.9.2.0/24, 0.0.0.0/0\n";
    }

    @Test
    void buildsTheInterfaceTheFileDescribes() throws Exception {
        Path log = dir.resolve("hooks.log");
        InterfaceSession s = builder(server()).beforePreDown(() -> {
            try {
                Files.writeString(log, "pid file removed\n", java.nio.file.StandardOpenOption.APPEND);
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }).build(new StopFlag());

        UapiDevice.DeviceState state = s.control().get();
        assertThat(Keys.toBase64(state.privateKey())).isEqualTo(PRIVATE);
        assertThat(state.listenPort()).isEqualTo(s.socket().port());
        assertThat(state.peers()).hasSize(2);
        UapiDevice.PeerState a = state.peers().stream()
                .filter(p -> Keys.toBase64(p.publicKey()).equals(PEER_A)).findFirst().orElseThrow();
        assertThat(a.endpoint()).isEqualTo(new InetSocketAddress("127.0.0.1", 51999));
        assertThat(a.persistentKeepalive()).isEqualTo(25);
        assertThat(a.allowedIps()).containsExactly(Cidr.parse("10.9.1.0/24"));
        assertThat(s.device()).isSameAs(device);
        assertThat(s.socket().port()).isPositive();
        assertThat(s.tunnel().socket()).isSameAs(s.socket());

        // With a Table, even the default route goes into it.
        assertThat(network.calls).containsExactly("mtu wg7 1400", "address add 10.9.0.1/24", "up wg7",
                "routes add [10.9.1.0/24, 10.9.2.0/24, 0.0.0.0/0] table 1234", "dns [10.9.0.53] [example.net]",
                "watch mtu");
        assertThat(hookLog()).containsExactly("PreUp wg7", "PostUp wg7");
        assertThat(dir.resolve("leases")).isDirectory();
        assertThat(dir.resolve("wg7.sock")).exists();
        assertThat(s.uapi()).isNotNull();
        assertThat(s.readyMessage()).startsWith("interface wg7 (MTU 1400), public key ")
                .contains("UDP port " + s.socket().port() + ", 2 peers;");

        s.close();
        assertThat(hookLog()).containsExactly("PreUp wg7", "PostUp wg7", "pid file removed", "PreDown wg7", "PostDown wg7");
        assertThat(device.closed).isTrue();
        assertThat(dir.resolve("wg7.sock")).doesNotExist();
        assertThat(network.calls).endsWith("watch mtu stop", "dns clear");
    }

    @Test
    void aWarmUpRunsBesideTheBuildAndTheReadyLineSaysSo() throws Exception {
        String text = "[Interface]\nPrivateKey = " + PRIVATE + "\nAddress = 10.9.0.2/32\n"
                + "[Peer]\nPublicKey = " + PEER_A + "\nAllowedIPs = 10.9.0.0/24\n";
        InterfaceSession s = builder(text).warmUp(40).build(new StopFlag());
        assertThat(s.readyMessage()).containsPattern("; packet path warmed up by 40 round trips in \\d+ ms$");
        s.close();
        InterfaceSession cold = builder(text).build(new StopFlag());
        assertThat(cold.readyMessage()).as("none by default").doesNotContain("warm");
        cold.close();
    }

    @Test
    void aDefaultRouteNeedsATable() throws Exception {
        String text = "[Interface]\nPrivateKey = " + PRIVATE + "\nAddress = 10.9.0.2/32\n"
                + "[Peer]\nPublicKey = " + PEER_A + "\nAllowedIPs = 0.0.0.0/0, 10.9.0.0/24\n";
        InterfaceSession s = builder(text).build(new StopFlag());
        assertThat(network.calls).contains("routes add [10.9.0.0/24] table null");
        assertThat(errBytes.toString(StandardCharsets.UTF_8)).contains("wg7: not routing 0.0.0.0/0");
        assertThat(s.readyMessage()).contains("1 peer;");
        s.close();
        assertThat(device.closed).isTrue();
    }

    @Test
    void aFailingPostUpClosesTheDeviceAndSocketAndSaysWhy() throws Exception {
        String text = "[Interface]\nPrivateKey = " + PRIVATE + "\nPostUp = exit 3\n"
                + "[Peer]\nPublicKey = " + PEER_A + "\n";
        SessionBuilder b = builder(text);
        assertThatThrownBy(() -> b.build(new StopFlag()))
                .isInstanceOf(InterfaceSession.Failure.class)
                .hasMessage("PostUp 'exit 3' exited with status 3");
        assertThat(device.closed).isTrue();
        // The port is free again: a failed build leaves no socket bound (UdpSocket sets no SO_REUSE*).
        try (Wakeup w = new Wakeup();
                UdpSocket again = UdpSocket.bind(InetAddress.getLoopbackAddress(), socket.port(), w)) {
            assertThat(again.port()).isEqualTo(socket.port());
        }
    }

    @Test
    void aTcpPortInUseUndoesEverythingTheBuildHadDone() throws Exception {
        // Another program holds the TCP port: the build fails after the device, DNS, the UDP socket
        // and the MTU watch are set up, and must take them all down again.
        try (ServerSocketChannel taken = ServerSocketChannel.open(StandardProtocolFamily.INET6)) {
            taken.bind(new InetSocketAddress(0));
            int port = ((InetSocketAddress) taken.getLocalAddress()).getPort();
            String text = "[Interface]\nPrivateKey = " + PRIVATE + "\nListenPort = " + port + "\nTransport = tcp\n"
                    + "DNS = 10.9.0.53\n[Peer]\nPublicKey = " + PEER_A + "\n";
            SessionBuilder b = builder(text);
            assertThatThrownBy(() -> b.build(new StopFlag()))
                    .isInstanceOf(InterfaceSession.Failure.class)
                    .hasMessageStartingWith("cannot listen on TCP port " + port);
            assertThat(device.closed).isTrue();
            assertThat(network.calls).containsSubsequence("watch mtu", "watch mtu stop");
            assertThat(network.calls).as("DNS given back").containsSubsequence("dns [10.9.0.53] []", "dns clear");
            try (Wakeup w = new Wakeup();
                    UdpSocket again = UdpSocket.bind(InetAddress.getLoopbackAddress(), port, w)) {
                assertThat(again.port()).isEqualTo(port);
            }
        }
    }

    @Test
    void aFailingPreUpOpensNothing() throws Exception {
        String text = "[Interface]\nPrivateKey = " + PRIVATE + "\nPreUp = exit 4\n";
        SessionBuilder b = builder(text);
        assertThatThrownBy(() -> b.build(new StopFlag())).hasMessage("PreUp 'exit 4' exited with status 4");
        assertThat(device).isNull();
        assertThat(network.calls).isEmpty();
    }

    @Test
    void deletingTheConfigurationSocketAsksForAStop() throws Exception {
        String text = "[Interface]\nPrivateKey = " + PRIVATE + "\n";
        StopFlag stop = new StopFlag();
        InterfaceSession s = builder(text).build(stop);
        Files.delete(dir.resolve("wg7.sock"));
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (!stop.stopRequested() && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertThat(stop.stopRequested()).isTrue();
        assertThat(errBytes.toString(StandardCharsets.UTF_8)).contains("was deleted; stopping");
        s.close();
    }
}
