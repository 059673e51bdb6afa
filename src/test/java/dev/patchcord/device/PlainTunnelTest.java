package dev.patchcord.device;

import dev.patchcord.core.Counters;
import dev.patchcord.core.Drop;
import dev.patchcord.core.IpFraming;
import dev.patchcord.core.RawFraming;
import dev.patchcord.sys.Wakeup;
import dev.patchcord.transport.UdpSocket;
import dev.patchcord.tun.StdioDevice;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayOutputStream;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static dev.patchcord.lab.Lab.await;
import static org.assertj.core.api.Assertions.assertThat;

/** The real UDP socket and tunnel loops on loopback, with standard streams as the device: no root needed. */
@Timeout(30)
class PlainTunnelTest {
    private final InetAddress loopback = InetAddress.getLoopbackAddress();
    private Wakeup wakeup;
    private UdpSocket socket;
    private DatagramChannel peer;
    private PipedOutputStream stdin;
    private final ByteArrayOutputStream stdout = new ByteArrayOutputStream();
    private PlainTunnel tunnel;

    private PlainTunnel start(boolean ipFraming) throws Exception {
        wakeup = new Wakeup();
        socket = UdpSocket.bind(loopback, 0, wakeup);
        peer = DatagramChannel.open(StandardProtocolFamily.INET).bind(new InetSocketAddress(loopback, 0));
        stdin = new PipedOutputStream();
        var device = new StdioDevice(new PipedInputStream(stdin, 1 << 16), stdout, 1500);
        tunnel = new PlainTunnel(device, socket, ipFraming ? new IpFraming(1500) : new RawFraming(1500),
                new PeerAddress((InetSocketAddress) peer.getLocalAddress(), false), new Counters(), null);
        tunnel.start();
        return tunnel;
    }

    @AfterEach
    void stop() throws Exception {
        if (wakeup != null) {
            stdin.close(); // ends the standard-input loop, as the end of input does
            wakeup.signal(); // ends the socket loop, as a stop signal does
            assertThat(tunnel.awaitStopped(5, TimeUnit.SECONDS)).as("both loops stop").isTrue();
            assertThat(tunnel.failure()).isNull();
            socket.close();
            wakeup.close();
            peer.close();
        }
    }

    private void sendToTunnel(byte[] payload) throws Exception {
        peer.send(ByteBuffer.wrap(payload), new InetSocketAddress(loopback, socket.port()));
    }

    private String receiveFromTunnel() throws Exception {
        ByteBuffer b = ByteBuffer.allocate(2000);
        peer.configureBlocking(true);
        peer.receive(b);
        b.flip();
        return StandardCharsets.UTF_8.decode(b).toString();
    }

    @Test
    void linesGoOutAsDatagramsAndDatagramsComeOutAsTheyAre() throws Exception {
        start(false);
        stdin.write("first line\nsecond\n".getBytes(StandardCharsets.UTF_8));
        stdin.flush();
        assertThat(receiveFromTunnel()).isEqualTo("first line\n");
        assertThat(receiveFromTunnel()).isEqualTo("second\n");
        sendToTunnel("reply\n".getBytes(StandardCharsets.UTF_8));
        assertThat(await(Duration.ofSeconds(5), () -> stdout.toString(StandardCharsets.UTF_8).equals("reply\n"))).isTrue();
        // The counters move just after the datagram is handed over, so they may trail it a little.
        assertThat(await(Duration.ofSeconds(5), () -> tunnel.counters().txPackets() == 2)).isTrue();
        assertThat(await(Duration.ofSeconds(5), () -> tunnel.counters().rxPackets() == 1)).isTrue();
    }

    @Test
    void longLinesAreCutIntoDatagramsOfAtMost1500Bytes() throws Exception {
        start(false);
        stdin.write(("x".repeat(3200) + "\n").getBytes(StandardCharsets.UTF_8));
        stdin.flush();
        assertThat(receiveFromTunnel()).hasSize(1500);
        assertThat(receiveFromTunnel()).hasSize(1500);
        assertThat(receiveFromTunnel()).hasSize(201);
    }

    @Test
    void garbageIsDroppedAndCountedAndTheTunnelKeepsWorking() throws Exception {
        start(true);
        sendToTunnel(new byte[0]);
        sendToTunnel(new byte[]{0x45, 0, 0});
        sendToTunnel("zz: text, not an IP packet".getBytes(StandardCharsets.UTF_8));
        sendToTunnel(new byte[3000]);
        Counters c = tunnel.counters();
        assertThat(await(Duration.ofSeconds(5), () -> c.droppedTotal() == 4)).isTrue();
        assertThat(c.dropped(Drop.EMPTY)).isEqualTo(1);
        assertThat(c.dropped(Drop.RUNT)).isEqualTo(1);
        assertThat(c.dropped(Drop.MALFORMED)).isEqualTo(1);
        assertThat(c.dropped(Drop.OVERSIZE)).isEqualTo(1);
        assertThat(tunnel.failure()).isNull();

        byte[] packet = new byte[28];
        packet[0] = 0x45;
        packet[3] = 28;
        sendToTunnel(packet);
        assertThat(await(Duration.ofSeconds(5), () -> stdout.size() == 28)).isTrue();
        assertThat(c.rxPackets()).isEqualTo(1);
    }

    @Test
    void aBusyPortIsAClearError() throws Exception {
        start(false);
        try (Wakeup w = new Wakeup()) {
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> UdpSocket.bind(loopback, socket.port(), w))
                    .hasMessageContaining("cannot bind UDP").hasMessageContaining("Address already in use");
        }
    }
}
