package io.peft4j.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;

/**
 * The {@code peft4j} command line: {@code inspect}, {@code generate}, {@code train} and {@code merge}
 * on transformers directories and HF PEFT adapter directories. Exit codes: 0 done, 2 usage error
 * (picocli's), 1 failure, reported as one line naming the file or option.
 */
@Command(name = "peft4j", mixinStandardHelpOptions = true, version = "peft4j 0.1.0-SNAPSHOT",
        description = "Parameter-efficient fine-tuning of transformer models on the JVM.",
        subcommands = {InspectCommand.class, GenerateCommand.class, TrainCommand.class, MergeCommand.class})
public final class Peft4jCli implements Runnable {
    public static final int FAILURE = 1;

    @CommandLine.Spec
    private CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "Missing a command: inspect, generate, train or merge");
    }

    public static void main(String[] args) {
        // DJL must not try to download an engine: libtorch's natives come from the classpath.
        System.setProperty("ai.djl.offline", System.getProperty("ai.djl.offline", "true"));
        PrintWriter out = new PrintWriter(System.out, true, StandardCharsets.UTF_8);
        PrintWriter err = new PrintWriter(System.err, true, StandardCharsets.UTF_8);
        System.exit(run(out, err, args));
    }

    /** Runs one command line with its output and errors on the given writers; returns the exit code. */
    public static int run(PrintWriter out, PrintWriter err, String... args) {
        CommandLine cli = new CommandLine(new Peft4jCli());
        cli.setOut(out);
        cli.setErr(err);
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            commandLine.getErr().println("peft4j " + commandLine.getCommandName() + ": " + oneLine(e));
            commandLine.getErr().flush();
            return FAILURE;
        });
        int code = cli.execute(args);
        out.flush();
        err.flush();
        return code;
    }

    /** The message a user can act on: the exception's own, or its type when it has none. */
    private static String oneLine(Throwable e) {
        String message = e.getMessage();
        if (message == null || message.isBlank()) {
            message = e.getClass().getSimpleName();
        }
        return message.replace('\n', ' ');
    }
}
