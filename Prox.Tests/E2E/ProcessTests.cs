using System.Net;
using Prox.Tests.Infrastructure;
using Xunit;

namespace Prox.Tests.E2E;

/// <summary>Tests of the real <c>prox</c> executable: exit codes, error output, memory under large bodies.</summary>
public class ProcessTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("prox-test-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    private const string BadConfig = """
        prox {
          listen = "127.0.0.1:0"
          routes {
            api {
              load-balancng = round-robin
              backends = [
                { url = "http://127.0.0.1:5001", weight = 0 }
                { url = "not a url" }
              ]
              timeouts.request = "soon"
            }
          }
        }
        """;

    [Fact]
    public async Task Run_InvalidConfig_Exit1_ListsEveryErrorWithPath_NoStackTrace()
    {
        var file = Write("bad.conf", BadConfig);

        var (code, stdout, stderr) = await ProxProcess.RunToExitAsync("run", "--config", file);

        Assert.Equal(1, code);
        Assert.Contains("prox.routes.api.load-balancng", stderr);
        Assert.Contains("prox.routes.api.backends[0].weight", stderr);
        Assert.Contains("prox.routes.api.backends[1].url", stderr);
        Assert.Contains("prox.routes.api.timeouts.request", stderr);
        Assert.DoesNotContain("   at ", stderr + stdout);
    }

    [Fact]
    public async Task Validate_ExitCodes_ZeroValid_OneInvalid()
    {
        var bad = Write("bad.conf", BadConfig);
        var good = Write("good.conf", """prox { routes.r { backends = [ { url = "http://127.0.0.1:5001" } ] } }""");

        var (badCode, _, badErr) = await ProxProcess.RunToExitAsync("validate", bad);
        var (goodCode, goodOut, _) = await ProxProcess.RunToExitAsync("validate", good);
        var (missingCode, _, missingErr) = await ProxProcess.RunToExitAsync("validate", Path.Combine(_dir, "nope.conf"));

        Assert.Equal(1, badCode);
        Assert.Equal(4, badErr.Split('\n').Count(l => l.TrimStart().StartsWith("prox.")));
        Assert.Equal(0, goodCode);
        Assert.Contains("valid", goodOut);
        Assert.Equal(1, missingCode);
        Assert.Contains("nope.conf", missingErr);
    }

    [Fact]
    public async Task HundredMegabytes_UploadAndDownload_Stream_WithoutProxMemoryGrowingByThatMuch()
    {
        const long size = 100L * 1024 * 1024;
        long received = 0;
        await using var backend = await TestBackend.StartAsync("big", async ctx =>
        {
            if (HttpMethods.IsPost(ctx.Request.Method))
            {
                var buf = new byte[81920];
                int n;
                while ((n = await ctx.Request.Body.ReadAsync(buf)) > 0) Interlocked.Add(ref received, n);
                await ctx.Response.WriteAsync(received.ToString());
                return;
            }
            ctx.Response.ContentLength = size;
            var chunk = new byte[64 * 1024];
            for (long sent = 0; sent < size; sent += chunk.Length)
                await ctx.Response.Body.WriteAsync(chunk);
        });
        var conf = Write("big.conf", $$"""
            prox {
              listen = "127.0.0.1:0"
              admin.listen = "127.0.0.1:0"
              limits.max-request-body = 1GB
              routes.r { backends = [ { url = "{{backend.Url}}" } ], timeouts.request = 60s }
            }
            """);
        var (prox, proxyUrl, _) = await ProxProcess.StartAsync(conf);
        await using var _ = prox;
        using var client = new HttpClient { BaseAddress = proxyUrl, Timeout = TimeSpan.FromMinutes(2) };
        (await client.GetAsync("/warmup-small", HttpCompletionOption.ResponseHeadersRead)).Dispose();
        var before = prox.Memory();

        using (var up = await client.PostAsync("/upload", new StreamContent(new ZeroStream(size))))
        {
            Assert.Equal(HttpStatusCode.OK, up.StatusCode);
            Assert.Equal(size.ToString(), await up.Content.ReadAsStringAsync());
        }
        using (var down = await client.GetAsync("/download", HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal(HttpStatusCode.OK, down.StatusCode);
            var stream = await down.Content.ReadAsStreamAsync();
            var buf = new byte[81920];
            long total = 0;
            int n;
            while ((n = await stream.ReadAsync(buf)) > 0) total += n;
            Assert.Equal(size, total);
        }

        var after = prox.Memory();
        var growth = after.Peak - before.Rss;
        Assert.True(growth < 40L * 1024 * 1024,
            $"prox peak RSS grew by {growth / 1024 / 1024} MB moving 2 x 100 MB (before {before.Rss / 1024 / 1024} MB, peak {after.Peak / 1024 / 1024} MB)");
    }

    /// <summary>A read-only stream of zeros of a given length, so the client does not buffer 100 MB either.</summary>
    private sealed class ZeroStream(long length) : Stream
    {
        private long _pos;
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => length;
        public override long Position { get => _pos; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = (int)Math.Min(count, length - _pos);
            Array.Clear(buffer, offset, n);
            _pos += n;
            return n;
        }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
