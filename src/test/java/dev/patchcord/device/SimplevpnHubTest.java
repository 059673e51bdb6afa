package dev.patchcord.device;

import dev.patchcord.core.Drop;
import dev.patchcord.core.simplevpn.ControlMessage;
import dev.patchcord.sys.Wakeup;
import dev.patchcord.transport.StreamSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static dev.patchcord.lab.Lab.await;
import static dev.patchcord.testing.TestPackets.ipv4;
import static org.assertj.core.api.Assertions.assertThat;

/** The hub on loopback with raw TCP clients speaking the protocol byte by byte: no root needed. */
@Timeout(60)
class SimplevpnHubTest {
    private static final HexFormat HEX = HexFormat.of();
    private static final int A254 = 0x0A00FEFE, A253 = 0x0A00FEFD, A252 = 0x0A00FEFC, A1_5 = 0x0A000105;

    private Wakeup wakeup;
    private SimplevpnHub hub;
    private InetSocketAddress address;
    private final ByteArrayOutputStream logBytes = new ByteArrayOutputStream();
    private final List<SocketChannel> opened = new ArrayList<>();

    @BeforeEach
    void start() throws Exception {
        wakeup = new Wakeup();
        StreamSocket server = StreamSocket.listen(InetAddress.getLoopbackAddress(), 0);
        address = new InetSocketAddress(InetAddress.getLoopbackAddress(), server.localPort());
        hub = new SimplevpnHub(server, wakeup, new PrintStream(logBytes, true, StandardCharsets.UTF_8), "hub: ", false);
        hub.start();
    }

    @AfterEach
    void stop() throws Exception {
        wakeup.signal();
        assertThat(hub.awaitStopped(5, TimeUnit.SECONDS)).as("every loop stops").isTrue();
        assertThat(hub.failure()).isNull();
        for (SocketChannel c : opened) {
            c.close();
        }
        wakeup.close();
    }

    private String log() {
        return logBytes.toString(StandardCharsets.UTF_8);
    }

    private SocketChannel connect() throws IOException {
        SocketChannel c = SocketChannel.open(address);
        c.setOption(StandardSocketOptions.TCP_NODELAY, true);
        c.socket().setSoTimeout(5000);
        opened.add(c);
        return c;
    }

    private static void send(SocketChannel c, byte[] bytes) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(bytes);
        while (b.hasRemaining()) {
            c.write(b);
        }
    }

    /** Exactly {@code n} bytes, or fails after the socket's time-out. */
    private static byte[] read(SocketChannel c, int n) throws IOException {
        InputStream in = c.socket().getInputStream();
        byte[] out = in.readNBytes(n);
        assertThat(out).as("bytes before end of stream").hasSize(n);
        return out;
    }

    /** Whether nothing arrives within {@code millis}. */
    private static boolean silent(SocketChannel c, int millis) throws IOException {
        c.socket().setSoTimeout(millis);
        try {
            int b = c.socket().getInputStream().read();
            return false;
        } catch (SocketTimeoutException e) {
            return true;
        } finally {
            c.socket().setSoTimeout(5000);
        }
    }

    /**
     * Whether everything the client on local port {@code client} sent has reached the hub's end of
     * the connection and the hub has read it: the kernel holds none of it in the client's send
     * queue or the hub's receive queue (/proc/net/tcp and tcp6 list both ends of a loopback
     * connection).
     */
    private boolean hubHasRead(int client) {
        int hub = address.getPort();
        long clientUnsent = -1;
        long hubUnread = -1;
        try {
            List<String> lines = new ArrayList<>(Files.readAllLines(Path.of("/proc/net/tcp")));
            lines.addAll(Files.readAllLines(Path.of("/proc/net/tcp6"))); // Java's sockets are IPv6 ones
            for (String line : lines) {
                String[] f = line.trim().split("\\s+");
                if (f.length < 5 || !f[4].contains(":")) {
                    continue;
                }
                String[] queues = f[4].split(":");
                if (f[1].endsWith(port(client)) && f[2].endsWith(port(hub))) {
                    clientUnsent = Long.parseLong(queues[0], 16);
                } else if (f[1].endsWith(port(hub)) && f[2].endsWith(port(client))) {
                    hubUnread = Long.parseLong(queues[1], 16);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return clientUnsent == 0 && hubUnread == 0;
    }

    private static String port(int port) {
        return String.format(":%04X", port);
    }

    private static boolean closedByPeer(SocketChannel c) throws IOException {
        return c.socket().getInputStream().read() == -1;
    }

    /** A dynamic client, its two replies read. */
    private SocketChannel dynamicClient(int expected) throws IOException {
        SocketChannel c = connect();
        send(c, ControlMessage.dynamicRequest());
        byte[] reply = ControlMessage.assignment(expected);
        assertThat(HEX.formatHex(read(c, 40))).isEqualTo(HEX.formatHex(reply) + HEX.formatHex(reply));
        return c;
    }

    @Test
    void dynamicClientsGetTheOriginalsAddressesWithTheReplySentTwice() throws Exception {
        dynamicClient(A254);
        dynamicClient(A253);
        assertThat(log()).contains("assigned 10.0.254.254").contains("assigned 10.0.254.253");
    }

    @Test
    void packetsGoToTheHolderOfTheirDestinationUnchanged() throws Exception {
        SocketChannel a = dynamicClient(A254);
        SocketChannel b = dynamicClient(A253);
        byte[] p = ipv4(A254, A253, 84);
        byte[] q = ipv4(A253, A254, 1400);
        // Two packets in one write, and one cut across writes: the stream is parsed, not read-sized.
        byte[] twice = new byte[168];
        System.arraycopy(p, 0, twice, 0, 84);
        System.arraycopy(p, 0, twice, 84, 84);
        send(a, twice);
        send(b, java.util.Arrays.copyOfRange(q, 0, 7));
        int bPort = ((InetSocketAddress) b.getLocalAddress()).getPort();
        assertThat(await(Duration.ofSeconds(5), () -> hubHasRead(bPort)))
                .as("the hub read the packet's first 7 bytes on their own: the splitter holds a partial packet").isTrue();
        send(b, java.util.Arrays.copyOfRange(q, 7, q.length));
        assertThat(read(b, 168)).isEqualTo(twice);
        assertThat(read(a, 1400)).isEqualTo(q);
        assertThat(hub.counters().rxPackets()).isEqualTo(3);
        assertThat(await(Duration.ofSeconds(5), () -> hub.counters().txPackets() == 3)).isTrue();
    }

    @Test
    void spoofedUnroutableAndPrematureDataIsDroppedAndCounted() throws Exception {
        SocketChannel early = connect();
        send(early, ipv4(A252, A254, 60)); // data before any request
        SocketChannel a = dynamicClient(A254);
        SocketChannel b = dynamicClient(A253);
        send(a, ipv4(0x0A000909, A253, 60)); // not its address
        send(a, ipv4(A254, 0x0A000808, 60)); // nobody holds it
        send(a, ipv4(A254, 0x08080808, 60)); // outside the pool
        byte[] v6 = new byte[48];
        v6[0] = 0x60;
        v6[5] = 8;
        send(a, v6);
        assertThat(await(Duration.ofSeconds(5), () -> hub.counters().droppedTotal() == 5)).isTrue();
        assertThat(hub.counters().dropped(Drop.NOT_ALLOWED)).isEqualTo(2);
        assertThat(hub.counters().dropped(Drop.NO_ROUTE)).isEqualTo(3);
        assertThat(silent(b, 200)).isTrue();
        assertThat(hub.summary()).contains("dropped 5 (not-allowed 2, no-route 3)");
    }

    @Test
    void keepalivesAreEchoedByteForByte() throws Exception {
        SocketChannel a = dynamicClient(A254);
        byte[] odd = HEX.parseHex("4fee0000deadbeefcafe0102ffffffffffffffff");
        send(a, odd);
        assertThat(read(a, 20)).isEqualTo(odd);
        send(a, ControlMessage.keepalive());
        assertThat(read(a, 20)).isEqualTo(ControlMessage.keepalive());
        assertThat(hub.counters().txPackets()).as("control messages are not traffic").isZero();
    }

    @Test
    void staticAddressesAreGrantedOnceAndOtherwiseRefusedByClosing() throws Exception {
        SocketChannel first = connect();
        send(first, ControlMessage.staticRequest(A1_5));
        byte[] grant = ControlMessage.assignment(A1_5);
        assertThat(read(first, 40)).isEqualTo(concat(grant, grant));

        SocketChannel second = connect();
        send(second, ControlMessage.staticRequest(A1_5));
        assertThat(closedByPeer(second)).as("refused by closing, with nothing sent").isTrue();

        SocketChannel outside = connect();
        send(outside, ControlMessage.staticRequest(0x0A000101)); // 10.0.1.1 is not in the pool
        assertThat(closedByPeer(outside)).isTrue();
        assertThat(log()).contains("static address 10.0.1.5, refused: it is in use")
                .contains("static address 10.0.1.1, refused: it is not in the pool");
        // The dynamic order is untouched by the static grant.
        dynamicClient(A254);
    }

    @Test
    void aDisconnectedClientsAddressIsFreedAndReusedSecondNext() throws Exception {
        dynamicClient(A254);
        SocketChannel b = dynamicClient(A253);
        b.close();
        assertThat(await(Duration.ofSeconds(5), () -> log().contains("10.0.254.253 is free again"))).isTrue();
        dynamicClient(A252);
        dynamicClient(A253);
    }

    @Test
    void garbageEndsOnlyThatConnection() throws Exception {
        SocketChannel a = dynamicClient(A254);
        SocketChannel b = dynamicClient(A253);
        send(b, "GET / HTTP/1.1\r\nHost: example\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        assertThat(closedByPeer(b)).isTrue();
        assertThat(hub.counters().dropped(Drop.MALFORMED)).isEqualTo(1);
        send(a, ControlMessage.keepalive());
        assertThat(read(a, 20)).isEqualTo(ControlMessage.keepalive());
    }

    /** A client that never reads fills only its own queue; the others carry on at full speed. */
    @Test
    void aStalledClientNeverBlocksTheOthers() throws Exception {
        SocketChannel a = dynamicClient(A254);
        SocketChannel b = dynamicClient(A253);
        SocketChannel stalled = connect();
        stalled.setOption(StandardSocketOptions.SO_RCVBUF, 4096);
        send(stalled, ControlMessage.dynamicRequest()); // .252; it never reads its reply or anything else
        assertThat(await(Duration.ofSeconds(5), () -> log().contains("assigned 10.0.254.252"))).isTrue();
        byte[] flood = ipv4(A254, A252, 1400);
        for (int i = 0; i < 20_000 && hub.counters().dropped(Drop.QUEUE_FULL) < 100; i++) {
            send(a, flood);
        }
        assertThat(await(Duration.ofSeconds(10), () -> hub.counters().dropped(Drop.QUEUE_FULL) >= 100))
                .as("packets for the stalled client are dropped: " + hub.summary()).isTrue();
        byte[] p = ipv4(A254, A253, 100);
        send(a, p);
        assertThat(read(b, 100)).isEqualTo(p);
        assertThat(hub.summary()).containsPattern("dropped \\d+ \\(queue-full \\d+\\)");
    }

    private static byte[] concat(byte[] x, byte[] y) {
        byte[] out = new byte[x.length + y.length];
        System.arraycopy(x, 0, out, 0, x.length);
        System.arraycopy(y, 0, out, x.length, y.length);
        return out;
    }
}
