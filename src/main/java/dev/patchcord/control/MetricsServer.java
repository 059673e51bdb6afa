package dev.patchcord.control;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;

/**
 * The opt-in Prometheus endpoint ({@code Metrics = [HOST:]PORT}): {@code GET /metrics} answers
 * {@link Metrics#render}; everything else is 404 or 405. It reads a snapshot of the device and
 * changes nothing, but what it shows (peers' keys and traffic) is nobody else's business, so it
 * listens on localhost unless told otherwise. One virtual thread per request; the JDK's own
 * server, so no new dependency.
 */
public final class MetricsServer implements AutoCloseable {
    private final HttpServer server;
    private volatile UapiDevice device;

    /**
     * Listens at once, so a taken port fails before the interface is made; scrapes are answered
     * 503 until {@link #serve} names the device.
     */
    public MetricsServer(InetSocketAddress listen, String ifname) throws IOException {
        server = HttpServer.create(listen, 16);
        server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        server.createContext("/", exchange -> {
            try (exchange) {
                if (!exchange.getRequestURI().getPath().equals("/metrics")) {
                    reply(exchange, 404, "text/plain; charset=utf-8", "not found: try /metrics\n");
                } else if (!exchange.getRequestMethod().equals("GET") && !exchange.getRequestMethod().equals("HEAD")) {
                    exchange.getResponseHeaders().set("Allow", "GET, HEAD");
                    reply(exchange, 405, "text/plain; charset=utf-8", "method not allowed\n");
                } else if (device == null) {
                    reply(exchange, 503, "text/plain; charset=utf-8", "starting\n");
                } else {
                    String body = Metrics.render(ifname, device.get(), System.currentTimeMillis() * 1_000_000L);
                    reply(exchange, 200, Metrics.CONTENT_TYPE, body);
                }
            }
        });
        server.start();
    }

    private static void reply(HttpExchange exchange, int status, String type, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", type);
        boolean head = exchange.getRequestMethod().equals("HEAD");
        exchange.sendResponseHeaders(status, head ? -1 : bytes.length);
        if (!head) {
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(bytes);
            }
        }
    }

    /** Starts answering with {@code device}'s state. */
    public void serve(UapiDevice device) {
        this.device = device;
    }

    /** Where it listens (the port the kernel chose, if 0 was asked for). */
    public InetSocketAddress address() {
        return server.getAddress();
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
