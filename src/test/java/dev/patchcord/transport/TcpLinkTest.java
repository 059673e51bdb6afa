package dev.patchcord.transport;

import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;

import static org.assertj.core.api.Assertions.assertThat;

class TcpLinkTest {
    @Test
    void aPeerThatDoesNotReadCostsAtMostTheQueueBound() throws Exception {
        try (ServerSocketChannel server = ServerSocketChannel.open()) {
            server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            try (SocketChannel client = SocketChannel.open(server.getLocalAddress());
                    SocketChannel stalled = server.accept()) {
                TcpLink link = new TcpLink(client);
                byte[] big = new byte[TcpLink.MAX_MESSAGE];
                int accepted = 0, refused = 0;
                // Enough to fill the socket buffers (a few MiB on loopback) and then the queue.
                for (int i = 0; i < 2_000; i++) {
                    if (link.send(big)) {
                        accepted++;
                    } else {
                        refused++;
                    }
                    assertThat(link.queuedBytes()).isLessThanOrEqualTo(TcpLink.QUEUE_BYTES);
                }
                assertThat(refused).as("messages refused once the queue is full").isPositive();
                assertThat(accepted).isPositive();
                assertThat(stalled.isOpen()).isTrue();
                link.close();
            }
        }
    }
}
