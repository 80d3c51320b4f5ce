using Pipeline.BackgroundRemoval.Model;
using SkiaSharp;

namespace Pipeline.Aws.Tests.S3;

/// <summary>The real U²-Net-p, loaded once per test class (build/Model.targets copies it to bin/models).</summary>
public sealed class ModelFixture : IDisposable
{
    public MatteModel Model { get; } = MatteModel.Load();

    public void Dispose() => Model.Dispose();
}

/// <summary>Images drawn in the test, good and poisoned.</summary>
internal static class Images
{
    public static byte[] Jpeg(int width = 160, int height = 120)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        using (var canvas = new SKCanvas(bitmap))
        {
            canvas.Clear(new SKColor(70, 90, 60));
            using var paint = new SKPaint { Color = new SKColor(230, 40, 60), IsAntialias = false };
            canvas.DrawCircle(width / 2f, height / 2f, height / 3f, paint);
        }

        using SKData jpeg = bitmap.Encode(SKEncodedImageFormat.Jpeg, 90);
        return jpeg.ToArray();
    }

    /// <summary>The first half of a JPEG: the header reads, the scan ends early.</summary>
    public static byte[] TruncatedJpeg()
    {
        byte[] whole = Jpeg(320, 240);
        return whole[..(whole.Length / 2)];
    }

    /// <summary>Bytes that start with no image signature (a fixed seed, so the first bytes are known not to be one).</summary>
    public static byte[] RandomBytes()
    {
        var bytes = new byte[4096];
        new Random(11).NextBytes(bytes);
        return bytes;
    }

    public static byte[] Text() => "name,price\nwidget,3.50\n"u8.ToArray();

    /// <summary>Width and height of an encoded image, and whether it is a PNG.</summary>
    public static (int Width, int Height, bool IsPng) Describe(byte[] encoded)
    {
        using var codec = SKCodec.Create(new SKMemoryStream(encoded));
        return (codec.Info.Width, codec.Info.Height, codec.EncodedFormat == SKEncodedImageFormat.Png);
    }

    /// <summary>../shared/data/composites/images beside the repository, or null where it is absent.</summary>
    public static string? CompositesFolder()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Pipeline.sln")))
            {
                string candidate = Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "data", "composites", "images"));
                return Directory.Exists(candidate) ? candidate : null;
            }
        }

        return null;
    }
}

/// <summary>A fact that skips, saying why, when ../shared/data/composites/images is not beside the repository.</summary>
public sealed class CompositesFactAttribute : FactAttribute
{
    public CompositesFactAttribute()
    {
        if (Images.CompositesFolder() is null)
        {
            Skip = "../shared/data/composites/images is absent (it sits beside the repository in CI and on developer machines)";
        }
    }
}
