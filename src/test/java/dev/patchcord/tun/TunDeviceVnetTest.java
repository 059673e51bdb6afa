package dev.patchcord.tun;

import dev.patchcord.sys.Libc;
import dev.patchcord.sys.Linux;
import dev.patchcord.sys.SysException;
import dev.patchcord.transport.UdpBatch;
import dev.patchcord.transport.UdpFeatures;
import dev.patchcord.transport.UdpSocket;
import dev.patchcord.core.offload.VirtioNetHdr;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;

import static dev.patchcord.tun.TunNetns.PEER_ADDRESS;
import static dev.patchcord.tun.TunNetns.addressAndUp;
import static dev.patchcord.tun.TunNetns.assertEchoReply;
import static dev.patchcord.tun.TunNetns.echoRequest;
import static dev.patchcord.tun.TunNetns.inPrivateNetns;
import static dev.patchcord.tun.TunNetns.intToBytes;
import static dev.patchcord.tun.TunNetns.readIpv4;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The TUN device with a virtio-net header, each test in a private network namespace of its own
 * ({@link TunNetns}). Needs root.
 */
@Timeout(60)
class TunDeviceVnetTest {
    @BeforeAll
    static void needsRootAndTun() {
        assumeTrue(Libc.geteuid() == 0, "needs root");
        assumeTrue(Files.exists(Path.of("/dev/net/tun")), "needs /dev/net/tun");
    }

    @Test
    void opensWithTheHeaderAndReportsTheOffloads() throws Exception {
        inPrivateNetns(wakeup -> {
            try (TunDevice plain = TunDevice.open(TunDevice.Kind.TUN, "pcplain%d", wakeup)) {
                assertThat(plain.vnetHeader()).isFalse();
                assertThat(plain.offloads()).isZero();
            }
            try (TunDevice bare = TunDevice.openWithVnetHeader(TunDevice.Kind.TUN, "pcbare%d", wakeup, 0)) {
                assertThat(bare.vnetHeader()).isTrue();
                assertThat(bare.offloads()).isZero();
            }
            try (TunDevice tun = TunDevice.openWithVnetHeader(TunDevice.Kind.TUN, "pcvnet%d", wakeup,
                    TunDevice.OFFLOAD_ALL);
                 Arena arena = Arena.ofConfined()) {
                System.out.println("TUN offloads accepted here: " + TunDevice.describeOffloads(tun.offloads()));
                assertThat(tun.vnetHeader()).isTrue();
                assertThat(tun.offloads() & TunDevice.OFFLOAD_TSO).isEqualTo(TunDevice.OFFLOAD_TSO);
                MemorySegment size = arena.allocate(JAVA_INT);
                SysException.check(Libc.ioctl(tun.fd(), Linux.TUNGETVNETHDRSZ, size), "TUNGETVNETHDRSZ");
                assertThat(size.get(JAVA_INT, 0)).isEqualTo(VirtioNetHdr.SIZE);
            }
        });
    }

    @Test
    void anEchoRequestWrittenWithAHeaderIsAnsweredWithOne() throws Exception {
        inPrivateNetns(wakeup -> {
            try (TunDevice tun = TunDevice.openWithVnetHeader(TunDevice.Kind.TUN, "pcecho%d", wakeup,
                    TunDevice.OFFLOAD_ALL);
                 Arena arena = Arena.ofConfined()) {
                addressAndUp(tun.name());
                MemorySegment buf = arena.allocate(VirtioNetHdr.SIZE + 65536);
                // Header laid right before the packet, one write.
                VirtioNetHdr.writeNone(buf.asByteBuffer(), 0);
                int len = echoRequest(buf, VirtioNetHdr.SIZE, 1);
                assertThat(tun.write(buf, 0, VirtioNetHdr.SIZE + len)).isZero();
                assertEchoReply(tun, buf, 1);
                // No header in front: writePacket supplies one.
                len = echoRequest(buf, 100, 2);
                assertThat(tun.writePacket(buf, 100, len)).isZero();
                assertEchoReply(tun, buf, 2);
            }
        });
    }

    @Test
    void udpFromTheHostComesOutWithChecksumAndSegmentationLeftToUs() throws Exception {
        inPrivateNetns(wakeup -> {
            try (TunDevice tun = TunDevice.openWithVnetHeader(TunDevice.Kind.TUN, "pcudp%d", wakeup,
                    TunDevice.OFFLOAD_ALL);
                 Arena arena = Arena.ofConfined();
                 UdpSocket socket = UdpSocket.bind(null, 0, wakeup);
                 UdpBatch batch = new UdpBatch(1, 65536)) {
                addressAndUp(tun.name());
                socket.enable(UdpFeatures.ALL);
                MemorySegment buf = arena.allocate(VirtioNetHdr.SIZE + 65536);
                InetSocketAddress peer = new InetSocketAddress(InetAddress.getByAddress(intToBytes(PEER_ADDRESS)), 4000);
                batch.setAddress(0, peer);

                batch.set(0, 0, 100, 0);
                assertThat(socket.send(batch, 1)).isEqualTo(1);
                int n = readIpv4(tun, buf, 17);
                assertThat(n).isEqualTo(VirtioNetHdr.SIZE + 20 + 8 + 100);
                if ((tun.offloads() & Linux.TUN_F_CSUM) != 0) {
                    // The kernel left the UDP checksum to the device: to us.
                    assertThat(VirtioNetHdr.flags(buf.asByteBuffer(), 0) & VirtioNetHdr.NEEDS_CSUM).isNotZero();
                    assertThat(VirtioNetHdr.csumStart(buf.asByteBuffer(), 0)).isEqualTo(20);
                    assertThat(VirtioNetHdr.csumOffset(buf.asByteBuffer(), 0)).isEqualTo(6);
                }

                assumeTrue(socket.gso(), "no UDP GSO");
                batch.set(0, 0, 10 * 1000, 1000);
                assertThat(socket.send(batch, 1)).isEqualTo(1);
                n = readIpv4(tun, buf, 17);
                if ((tun.offloads() & Linux.TUN_F_USO4) != 0) {
                    // One super-packet for the ten datagrams: the device would cut it.
                    assertThat(n).isEqualTo(VirtioNetHdr.SIZE + 20 + 8 + 10_000);
                    assertThat(VirtioNetHdr.gsoType(buf.asByteBuffer(), 0)).isEqualTo(VirtioNetHdr.GSO_UDP_L4);
                    assertThat(VirtioNetHdr.gsoSize(buf.asByteBuffer(), 0)).isEqualTo(1000);
                } else {
                    assertThat(n).isEqualTo(VirtioNetHdr.SIZE + 20 + 8 + 1000);
                    assertThat(VirtioNetHdr.gsoType(buf.asByteBuffer(), 0)).isEqualTo(VirtioNetHdr.GSO_NONE);
                }
            }
        });
    }
}
