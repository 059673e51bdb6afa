package dev.patchcord.e2e;

import dev.patchcord.lab.Lab;
import dev.patchcord.sys.Libc;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * Gives each test its own {@link Lab}: private namespaces with unique names, processes started in
 * them, logs printed when the test fails, and everything removed after the test whatever its
 * outcome. These tests need root; elsewhere they are skipped, except under CI, where missing root
 * is a failure so that a mis-set CI cannot pass by skipping.
 */
public final class LabExtension implements BeforeAllCallback, ParameterResolver, AfterEachCallback {
    private static final ExtensionContext.Namespace STORE = ExtensionContext.Namespace.create(LabExtension.class);

    @Override
    public void beforeAll(ExtensionContext context) {
        boolean root = Libc.geteuid() == 0;
        if (!root && System.getenv("CI") != null) {
            Assertions.fail("network-namespace tests need root, and CI must run them");
        }
        Assumptions.assumeTrue(root, "network-namespace tests need root; skipped");
        Assumptions.assumeTrue(System.getProperty("patchcord.launcher") != null,
                "run through Maven (failsafe sets patchcord.launcher)");
    }

    @Override
    public boolean supportsParameter(ParameterContext p, ExtensionContext e) {
        return p.getParameter().getType() == Lab.class;
    }

    @Override
    public Object resolveParameter(ParameterContext p, ExtensionContext e) {
        String tag = e.getRequiredTestClass().getSimpleName().toLowerCase().replace("it", "");
        Lab lab = new Lab(tag);
        e.getStore(STORE).put("lab", lab);
        return lab;
    }

    @Override
    public void afterEach(ExtensionContext context) {
        Lab lab = context.getStore(STORE).remove("lab", Lab.class);
        if (lab == null) {
            return;
        }
        try {
            if (context.getExecutionException().isPresent()) {
                System.out.println("===== logs of " + context.getDisplayName() + " in " + lab.prefix());
                lab.dumpLogs(System.out);
            }
        } finally {
            lab.close();
        }
    }
}
