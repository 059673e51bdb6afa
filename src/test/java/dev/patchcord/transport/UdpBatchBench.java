package dev.patchcord.transport;

import dev.patchcord.sys.Wakeup;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.concurrent.atomic.AtomicLong;

/**
 * How many 1400-byte datagrams a second one thread pushes through loopback: one sendto each,
 * sendmmsg of single datagrams, and sendmmsg of GSO buffers. A second thread drains the receiving
 * socket with recvmmsg (and GRO where on) and counts what arrived. Not a test: run with
 * {@code java --enable-native-access=ALL-UNNAMED -cp target/classes:target/test-classes
 * dev.patchcord.transport.UdpBatchBench [seconds]}.
 */
public final class UdpBatchBench {
    private static final int SIZE = 1400;
    /** 44 x 1400 = 61600 bytes: as many as fit one GSO message under 64 KiB. */
    private static final int PER_GSO = 44;

    private interface Sender {
        /** Sends some datagrams; returns how many. */
        long sendSome();
    }

    public static void main(String[] args) throws Exception {
        double seconds = args.length > 0 ? Double.parseDouble(args[0]) : 3;
        InetAddress loopback = InetAddress.getByName("127.0.0.1");
        System.out.printf("kernel %s, %d CPUs, %d-byte datagrams, %.1f s per mode%n",
                System.getProperty("os.version"), Runtime.getRuntime().availableProcessors(), SIZE, seconds);
        for (String mode : new String[] {"sendto", "sendmmsg", "sendmmsg+gso"}) {
            // The receiver without GRO makes the kernel cut GSO buffers on delivery, as a real
            // peer's NIC or stack would; with GRO, loopback hands them over whole.
            for (UdpFeatures rx : new UdpFeatures[] {UdpFeatures.BATCH_ONLY, UdpFeatures.ALL}) {
                for (int round = 0; round < 2; round++) { // the first round warms up the JIT
                    run(mode, rx, loopback, round == 0 ? Math.min(1, seconds) : seconds, round == 1);
                }
            }
        }
    }

    private static void run(String mode, UdpFeatures rxWanted, InetAddress loopback, double seconds, boolean print)
            throws Exception {
        try (Wakeup wakeup = new Wakeup(); Wakeup senderWakeup = new Wakeup();
             UdpSocket receiver = UdpSocket.bind(loopback, 0, wakeup);
             UdpSocket sender = UdpSocket.bind(loopback, 0, senderWakeup);
             Arena arena = Arena.ofConfined();
             UdpBatch out = new UdpBatch(64, 65536)) {
            UdpFeatures rx = receiver.enable(rxWanted);
            UdpFeatures tx = sender.enable(mode.equals("sendmmsg+gso") ? UdpFeatures.ALL : UdpFeatures.BATCH_ONLY);
            InetSocketAddress to = new InetSocketAddress(loopback, receiver.port());
            MemorySegment to6 = arena.allocate(SockAddr.SIZE);
            SockAddr.encode(to, to6);
            AtomicLong received = new AtomicLong();
            Thread drain = Thread.ofPlatform().name("bench-receiver").start(() -> {
                try (UdpBatch in = new UdpBatch(64, 65536)) {
                    int n;
                    while ((n = receiver.receive(in)) > 0) {
                        long d = 0;
                        for (int i = 0; i < n; i++) {
                            d += in.datagrams(i);
                        }
                        received.addAndGet(d);
                    }
                } catch (Exception e) {
                    e.printStackTrace();
                }
            });
            Sender s = switch (mode) {
                case "sendto" -> {
                    MemorySegment buf = arena.allocate(SIZE);
                    yield () -> {
                        for (int k = 0; k < 64; k++) {
                            sender.send(buf, 0, SIZE, to6);
                        }
                        return 64;
                    };
                }
                case "sendmmsg" -> {
                    for (int i = 0; i < 64; i++) {
                        out.set(i, 0, SIZE, 0);
                        out.setAddress(i, to6);
                    }
                    yield () -> sender.send(out, 64);
                }
                default -> {
                    if (!tx.gso()) {
                        System.out.println("(no GSO here: the socket cuts the buffers itself)");
                    }
                    for (int i = 0; i < 8; i++) {
                        out.set(i, 0, SIZE * PER_GSO, SIZE);
                        out.setAddress(i, to6);
                    }
                    yield () -> (long) PER_GSO * sender.send(out, 8);
                }
            };
            long sent = 0;
            long calls = 0;
            long start = System.nanoTime();
            long end = start + (long) (seconds * 1e9);
            long now;
            while ((now = System.nanoTime()) < end) {
                sent += s.sendSome();
                calls++;
            }
            double elapsed = (now - start) / 1e9;
            Thread.sleep(200); // let the receiver take what is still queued
            wakeup.signal();
            drain.join(5000);
            if (print) {
                System.out.printf("%-13s sent %,10.0f datagrams/s (%5.2f Gbit/s payload), received %,10.0f/s (%5.1f %%),"
                                + " %,8.0f send calls/s; tx %s, rx %s%n",
                        mode, sent / elapsed, sent * SIZE * 8 / elapsed / 1e9, received.get() / elapsed,
                        100.0 * received.get() / Math.max(1, sent), mode.equals("sendto") ? sent / elapsed : calls / elapsed,
                        mode.equals("sendto") ? "sendto" : tx, rx);
            }
        }
    }
}
