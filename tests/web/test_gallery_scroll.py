"""The dataset gallery scrolls through the whole dataset: the API's pages are fetched as
the reader nears the end, and only the rows of thumbnails in the viewport are in the page
(the others' height kept), so only a few dozen thumbnails are ever in it at once."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.web.browser import WEB_TEST_MARKS, Console
from tests.web.test_console import heading, new_account, sign_in, upload_digits

pytestmark = WEB_TEST_MARKS

PAGE = 24  # the gallery's page of the API (web/src/pages/dataset/useGalleryPages.ts)
# At 1280 px the gallery has 8 columns of rows 160 px apart, and a viewport of 800 px (and
# the 40 px drawn beyond it either side) meets at most 7 rows (web/src/pages/dataset/Gallery.tsx).
IN_PAGE_AT_MOST = 7 * 8


def test_scrolling_the_gallery_reaches_every_image_with_few_in_the_page(
    console: Console, console_server: str
) -> None:
    page, base = console.page, console_server
    email, api = new_account(base)
    dataset = upload_digits(api, per_class=20)
    listed = api.get(f"/api/v1/datasets/{dataset['id']}/images", params={"limit": 200}).json()
    total = listed["total"]
    names = {f"{i['path'].split('/')[-1]}: {i['label_name']}" for i in listed["items"]}
    assert total == len(names) == 200

    page.goto(f"{base}/datasets/{dataset['id']}")
    sign_in(page, email)
    expect(heading(page)).to_have_text("digits")
    gallery = page.get_by_role("list", name="Images")
    images = gallery.get_by_role("img")
    expect(images).to_have_count(PAGE)
    console.screenshot("gallery-first-page")

    seen: set[str] = set()
    most = 0
    fetched = PAGE
    while fetched < total:
        # To the end of the page, as a reader's wheel would: the next page is fetched.
        page.mouse.wheel(0, page.evaluate("document.documentElement.scrollHeight"))
        fetched = min(fetched + PAGE, total)
        expect(gallery.get_by_role("listitem").last).to_have_attribute(
            "aria-posinset", str(fetched)
        )
        shown = images.evaluate_all("imgs => imgs.map((img) => img.alt)")
        seen.update(shown)
        most = max(most, len(shown))
    expect(page.get_by_role("button", name="Show more images")).to_have_count(0)
    console.screenshot("gallery-scrolled-to-the-end")

    assert seen == names  # every image of the dataset, each under its own name
    assert most <= IN_PAGE_AT_MOST, most
    # The first page left the page while the reader was at the end, and comes back.
    first = sorted(listed["items"], key=lambda i: i["path"])[0]
    first_name = f"{first['path'].split('/')[-1]}: {first['label_name']}"
    expect(gallery.get_by_role("img", name=first_name)).to_have_count(0)
    page.keyboard.press("Home")  # the top of the page, above the gallery: none drawn
    expect(images).to_have_count(0)
    page.get_by_role("heading", name="Images").scroll_into_view_if_needed()
    expect(gallery.get_by_role("img", name=first_name)).to_be_visible()
    expect(gallery.get_by_role("listitem").first).to_have_attribute("aria-setsize", str(total))

    # A phone's width: fewer columns, the same images, a button for what is not fetched.
    page.set_viewport_size({"width": 390, "height": 844})
    page.get_by_label("Class", exact=True).select_option("digit_3")
    expect(page.get_by_role("status").filter(has_text="images")).to_have_text("20 images")
    expect(images).to_have_count(20)
    console.screenshot("gallery-filtered-phone")
