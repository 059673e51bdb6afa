package dev.patchcord.transport;

import dev.patchcord.sys.Wakeup;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Timeout;

import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The test bed of the socket tests on loopback (no root needed): patchcord's {@link UdpSocket}s
 * and plain JDK sockets as their peers, all closed after each test, and a watchdog that signals the
 * wake-up after 20 s so that a receive waiting for what never comes ends instead of hanging the build.
 */
@Timeout(60)
abstract class LoopbackSockets {
    static final InetAddress V4 = ip("127.0.0.1");
    static final InetAddress V6 = ip("::1");

    private final List<AutoCloseable> closeLater = new ArrayList<>();
    private final ScheduledExecutorService watchdog = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, getClass().getSimpleName() + "-watchdog");
        t.setDaemon(true);
        return t;
    });
    Wakeup wakeup;

    static InetAddress ip(String literal) {
        try {
            return InetAddress.getByName(literal);
        } catch (java.net.UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

    @BeforeEach
    void wakeupWithDeadline() throws Exception {
        wakeup = new Wakeup();
        watchdog.schedule(wakeup::signal, 20, TimeUnit.SECONDS);
    }

    @AfterEach
    void closeEverything() throws Exception {
        watchdog.shutdownNow();
        for (AutoCloseable c : closeLater.reversed()) {
            c.close();
        }
        wakeup.close();
    }

    /** {@code c}, to be closed after the test (in reverse order of registration). */
    <T extends AutoCloseable> T later(T c) {
        closeLater.add(c);
        return c;
    }

    /** A dual-stack {@link UdpSocket} on a free port with {@code features}. */
    UdpSocket socket(UdpFeatures features) throws Exception {
        UdpSocket s = later(UdpSocket.bind(null, 0, wakeup));
        s.enable(features);
        return s;
    }

    /** A JDK socket at {@code at} on a free port: 5 s receive timeout, 1 MiB receive buffer for bursts. */
    DatagramSocket peer(InetAddress at) throws Exception {
        DatagramSocket p = later(new DatagramSocket(new InetSocketAddress(at, 0)));
        p.setSoTimeout(5000);
        p.setReceiveBufferSize(1 << 20);
        return p;
    }
}
