package dev.patchcord.tun;

import dev.patchcord.sys.Libc;
import dev.patchcord.sys.Linux;
import dev.patchcord.sys.SysException;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;

import static dev.patchcord.tun.TunNetns.addressAndUp;
import static dev.patchcord.tun.TunNetns.assertEchoReply;
import static dev.patchcord.tun.TunNetns.echoRequest;
import static dev.patchcord.tun.TunNetns.inPrivateNetns;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A TUN/TAP device taken over from its descriptor, as a successor process does with the one it is
 * handed: a duplicate of an open device's descriptor stands in for the passed one, and the device
 * object that opened it is closed, as the old process's would be. Each test in a private network
 * namespace of its own ({@link TunNetns}); needs root.
 */
@Timeout(60)
class TunDeviceAdoptIT {

    @BeforeAll
    static void needsRootAndTun() {
        assumeTrue(Libc.geteuid() == 0, "needs root");
        assumeTrue(Files.exists(Path.of("/dev/net/tun")), "needs /dev/net/tun");
    }

    @Test
    void anAdoptedTunWithOffloadsIsTheSameInterfaceAndCarriesPackets() throws Exception {
        inPrivateNetns(wakeup -> {
            TunDevice original = TunDevice.openWithVnetHeader(TunDevice.Kind.TUN, "pcadopt%d", wakeup,
                    TunDevice.OFFLOAD_ALL);
            int copy;
            try {
                addressAndUp(original.name());
                copy = Libc.dup(original.fd());
                assertThat(copy).isNotNegative();
                // As if the sender had handed over a blocking descriptor: adopting makes it non-blocking.
                int status = Libc.fcntl(copy, Linux.F_GETFL, 0);
                assertThat(Libc.fcntl(copy, Linux.F_SETFL, status & ~Linux.O_NONBLOCK)).isZero();
            } catch (Throwable t) {
                original.close();
                throw t;
            }
            String name = original.name();
            int offloads = original.offloads();
            TunDevice adopted;
            try {
                adopted = TunDevice.adopt(copy, wakeup, offloads);
            } catch (Throwable t) {
                Libc.close(copy);
                throw t;
            } finally {
                original.close(); // the interface stays: the copy still holds it
            }
            try (adopted; Arena arena = Arena.ofConfined()) {
                assertThat(adopted.name()).isEqualTo(name);
                assertThat(adopted.kind()).isEqualTo(TunDevice.Kind.TUN);
                assertThat(adopted.vnetHeader()).isTrue();
                assertThat(adopted.offloads()).isEqualTo(offloads);
                assertThat(adopted.persistent()).isFalse();
                assertThat(adopted.fd()).isEqualTo(copy);
                assertThat(Libc.fcntl(copy, Linux.F_GETFL, 0) & Linux.O_NONBLOCK).isNotZero();

                MemorySegment buf = arena.allocate(10 + 65536);
                int len = echoRequest(buf, 100, 7);
                assertThat(adopted.writePacket(buf, 100, len)).isZero();
                assertEchoReply(adopted, buf, 7);
            }
        });
    }

    @Test
    void anAdoptedTapIsATapWithoutHeaderOrOffloads() throws Exception {
        inPrivateNetns(wakeup -> {
            try (TunDevice original = TunDevice.open(TunDevice.Kind.TAP, "pctap%d", wakeup)) {
                int copy = Libc.dup(original.fd());
                assertThat(copy).isNotNegative();
                try (TunDevice adopted = TunDevice.adopt(copy, wakeup, TunDevice.OFFLOAD_ALL)) {
                    assertThat(adopted.name()).isEqualTo(original.name());
                    assertThat(adopted.kind()).isEqualTo(TunDevice.Kind.TAP);
                    assertThat(adopted.vnetHeader()).isFalse();
                    assertThat(adopted.offloads()).as("no offloads without the header").isZero();
                }
            }
        });
    }

    @Test
    void onlyADescriptorAttachedToAnInterfaceIsAdopted() throws Exception {
        inPrivateNetns(wakeup -> {
            int event = Libc.eventfd(0, Linux.EFD_CLOEXEC);
            int unattached;
            try (Arena arena = Arena.ofConfined()) {
                unattached = Libc.open(arena.allocateFrom("/dev/net/tun"), Linux.O_RDWR | Linux.O_CLOEXEC);
            }
            try {
                assertThatThrownBy(() -> TunDevice.adopt(event, wakeup, 0))
                        .isInstanceOfSatisfying(SysException.class, e -> assertThat(e.errno()).isEqualTo(Linux.ENOTTY))
                        .hasMessageContaining("no /dev/net/tun descriptor");
                assertThatThrownBy(() -> TunDevice.adopt(unattached, wakeup, 0))
                        .isInstanceOfSatisfying(SysException.class, e -> assertThat(e.errno()).isEqualTo(Linux.EBADFD))
                        .hasMessageContaining("attached to no interface");
            } finally {
                Libc.close(event);
                Libc.close(unattached);
            }
        });
    }
}
