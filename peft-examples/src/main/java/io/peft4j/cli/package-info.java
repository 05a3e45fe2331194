/**
 * The {@code peft4j} command line ({@link io.peft4j.cli.Peft4jCli}), on picocli:
 * <pre>
 * peft4j inspect  &lt;adapter-dir&gt;
 * peft4j generate --model &lt;dir&gt; [--adapter &lt;dir&gt;] --prompt "..." [--max-new-tokens N]
 *                 [--temperature T] [--top-k K] [--top-p P] [--seed S] [--no-cache]
 * peft4j train    --model &lt;dir&gt; --data &lt;file.jsonl&gt; --method lora|full|freeze
 *                 [--r 8 --alpha 16 --targets q_proj,v_proj --use-dora --qlora] [--layers 4,5]
 *                 [--epochs E --batch-size B --lr LR --max-length N --seed S] --output &lt;adapter-dir&gt;
 * peft4j merge    --model &lt;dir&gt; --adapter &lt;dir&gt; --output &lt;dir&gt;
 * </pre>
 * From a build ({@code mvn -B -q -pl peft-examples -am package -DskipTests dependency:build-classpath
 * -Dmdep.outputFile=target/runtime-classpath.txt -Dmdep.includeScope=runtime}):
 * {@code java -cp "peft-examples/target/peft-examples-0.1.0-SNAPSHOT.jar:$(cat peft-examples/target/runtime-classpath.txt)"
 * io.peft4j.cli.Peft4jCli train ...}. Exit codes: 0 done, 2 usage error, 1 failure (one line on stderr
 * naming the file or option).
 */
package io.peft4j.cli;
