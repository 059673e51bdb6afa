package dev.patchcord.cli;

import com.google.zxing.BarcodeFormat;
import com.google.zxing.EncodeHintType;
import com.google.zxing.WriterException;
import com.google.zxing.common.BitMatrix;
import com.google.zxing.qrcode.QRCodeWriter;
import com.google.zxing.qrcode.decoder.ErrorCorrectionLevel;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;

/**
 * A client configuration as a QR code, the way the WireGuard phone apps import one: printed in a
 * terminal with block characters, or saved as a PNG.
 */
final class QrCode {
    /** The quiet zone the QR specification asks for around the symbol, in modules. */
    static final int QUIET_ZONE = 4;
    private static final int PNG_SCALE = 8;

    private final BitMatrix matrix;

    private QrCode(BitMatrix matrix) {
        this.matrix = matrix;
    }

    /**
     * Encodes {@code text} at the lowest error correction (the largest capacity: a configuration
     * is shown on a screen, not printed on something that gets scratched).
     */
    static QrCode of(String text) {
        try {
            BitMatrix m = new QRCodeWriter().encode(text, BarcodeFormat.QR_CODE, 0, 0, Map.of(
                    EncodeHintType.ERROR_CORRECTION, ErrorCorrectionLevel.L,
                    EncodeHintType.CHARACTER_SET, StandardCharsets.UTF_8.name(),
                    EncodeHintType.MARGIN, QUIET_ZONE));
            return new QrCode(m);
        } catch (WriterException e) {
            throw new UserError("the configuration does not fit in a QR code: " + e.getMessage());
        }
    }

    /** Whether the module at column {@code x}, row {@code y} is dark; outside the symbol is light. */
    boolean dark(int x, int y) {
        return x >= 0 && y >= 0 && x < matrix.getWidth() && y < matrix.getHeight() && matrix.get(x, y);
    }

    int size() {
        return matrix.getWidth();
    }

    /**
     * Two rows of modules per line of text. Light modules are drawn (block characters) and dark
     * ones left blank, so the code reads right on the usual light-on-dark terminal.
     */
    String terminal() {
        StringBuilder sb = new StringBuilder();
        for (int y = 0; y < matrix.getHeight(); y += 2) {
            for (int x = 0; x < matrix.getWidth(); x++) {
                boolean top = !dark(x, y);
                boolean bottom = y + 1 < matrix.getHeight() && !dark(x, y + 1);
                sb.append(top ? (bottom ? '█' : '▀') : (bottom ? '▄' : ' '));
            }
            sb.append('\n');
        }
        return sb.toString();
    }

    /** Writes the code as a black-on-white PNG, {@value #PNG_SCALE} pixels per module. */
    void writePng(Path file) throws IOException {
        int n = matrix.getWidth() * PNG_SCALE;
        BufferedImage img = new BufferedImage(n, n, BufferedImage.TYPE_BYTE_BINARY);
        for (int y = 0; y < n; y++) {
            for (int x = 0; x < n; x++) {
                img.setRGB(x, y, dark(x / PNG_SCALE, y / PNG_SCALE) ? 0x000000 : 0xffffff);
            }
        }
        if (!ImageIO.write(img, "png", file.toFile())) {
            throw new IOException("no PNG writer in this Java runtime");
        }
    }
}
