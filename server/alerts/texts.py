"""The alerts' words in Vietnamese and English: the console's labels (merged into ``console.i18n``) and the
e-mail's. Both languages have the same keys (a test keeps it so)."""

from __future__ import annotations

VI: dict[str, str] = {
    "nav_alerts": "Cảnh báo",
    "alerts_title": "Cảnh báo an toàn thông tin",
    "alerts_hint": "Cảnh báo tự đóng khi báo cáo hoặc lần kiểm tra sau cho thấy đã khắc phục. Ghi nhận để báo đã "
                   "biết và đang xử lý.",
    "alerts_count": "{count} cảnh báo",
    "alerts_none": "Không có cảnh báo nào.",
    "alerts_open_card": "Cảnh báo đang mở",
    "alerts_open_of": "{open} đang mở / {live} chưa xử lý xong",
    "alert_state": "Trạng thái",
    "alert_rule": "Loại cảnh báo",
    "alert_subject": "Chi tiết",
    "alert_opened": "Mở lúc",
    "alert_all": "Tất cả",
    "alert_filter": "Lọc",
    "alert_ack": "Ghi nhận",
    "alert_comment": "Ghi chú",
    "alert_acked_by": "{user} ghi nhận lúc {at}",
    "alert_acked_now": "Đã ghi nhận cảnh báo.",
    "alert_resolved_at": "Đã khắc phục lúc {at}",
    "alert_not_found": "Không có cảnh báo này trong phạm vi của bạn, hoặc cảnh báo đã được khắc phục.",
    "alert_district_wide": "Toàn huyện",
    "alert_state:open": "Đang mở",
    "alert_state:acknowledged": "Đã ghi nhận",
    "alert_state:resolved": "Đã khắc phục",
    "rule:air_gap_violation": "Máy xử lý tài liệu mật kết nối Internet",
    "rule:detection_unremediated": "Phần mềm độc hại chưa xử lý xong",
    "rule:antivirus_disabled": "Phần mềm diệt virus bị tắt",
    "rule:antivirus_out_of_date": "Mẫu nhận diện virus quá cũ",
    "rule:licence_expired": "Bản quyền diệt virus đã hết hạn",
    "rule:licence_expiring": "Bản quyền diệt virus sắp hết hạn",
    "rule:not_seen": "Máy lâu không gửi báo cáo",
    "rule:clock_wrong": "Đồng hồ máy tính sai",
    "licences_expiring_title": "Bản quyền diệt virus sắp hết hạn hoặc đã hết hạn",
    "licences_expiring_hint": "Trong vòng {days} ngày tới, tính đến hôm nay.",
    "licences_expiring_none": "Không có bản quyền nào sắp hết hạn.",
    "licence_product": "Sản phẩm",
    "licence_ends": "Hết hạn ngày",
    "licence_days_left": "Còn (ngày)",
    "licence_seats_used": "Đã dùng / số bản quyền",
    "licence_source": "Căn cứ",
    "licence_source:product": "Khoá của chính sản phẩm trên máy",
    "licence_source:register": "Sổ theo dõi bản quyền",
    "licence_expired_already": "Đã hết hạn",
    "mail_subject": "[Kiểm kê CNTT] {count} cảnh báo mới ({scope})",
    "mail_greeting": "Kính gửi {user},",
    "mail_intro": "Từ lần thư trước đến {at}, có {count} cảnh báo mới trong phạm vi {scope}:",
    "mail_outro": "Xem và ghi nhận các cảnh báo tại trang Cảnh báo của hệ thống kiểm kê.",
    "mail_scope_all": "toàn huyện",
    "mail_device": "Thiết bị",
    "mail_unit": "Đơn vị",
    "user_alert_mail": "Thư cảnh báo",
    "user_email": "Địa chỉ thư điện tử",
    "user_mail_lang": "Ngôn ngữ của thư",
    "action:alert.acknowledge": "Ghi nhận cảnh báo",
    "action:user.contact": "Sửa địa chỉ nhận thư cảnh báo",
    "alerts_shown_of": "Cảnh báo {first}–{last} / {total}",
    "alerts_pages": "Các trang cảnh báo",
    "mail_outro_at": "Xem và ghi nhận các cảnh báo tại trang Cảnh báo:",
}

EN: dict[str, str] = {
    "nav_alerts": "Alerts",
    "alerts_title": "Information-security alerts",
    "alerts_hint": "An alert closes by itself when a later report or check shows it fixed. Acknowledge one to say "
                   "it is known and being handled.",
    "alerts_count": "{count} alerts",
    "alerts_none": "No alerts.",
    "alerts_open_card": "Open alerts",
    "alerts_open_of": "{open} open / {live} not yet resolved",
    "alert_state": "State",
    "alert_rule": "Alert",
    "alert_subject": "Details",
    "alert_opened": "Opened",
    "alert_all": "All",
    "alert_filter": "Filter",
    "alert_ack": "Acknowledge",
    "alert_comment": "Comment",
    "alert_acked_by": "acknowledged by {user} at {at}",
    "alert_acked_now": "Alert acknowledged.",
    "alert_resolved_at": "Resolved at {at}",
    "alert_not_found": "There is no such alert within your scope, or it is already resolved.",
    "alert_district_wide": "Whole district",
    "alert_state:open": "Open",
    "alert_state:acknowledged": "Acknowledged",
    "alert_state:resolved": "Resolved",
    "rule:air_gap_violation": "Classified-document computer connected to the internet",
    "rule:detection_unremediated": "Malware not yet removed",
    "rule:antivirus_disabled": "Antivirus switched off",
    "rule:antivirus_out_of_date": "Antivirus signatures too old",
    "rule:licence_expired": "Antivirus licence expired",
    "rule:licence_expiring": "Antivirus licence about to expire",
    "rule:not_seen": "Computer not reporting for a long time",
    "rule:clock_wrong": "Computer clock is wrong",
    "licences_expiring_title": "Antivirus licences about to expire or expired",
    "licences_expiring_hint": "Within the next {days} days, counted from today.",
    "licences_expiring_none": "No licence is about to expire.",
    "licence_product": "Product",
    "licence_ends": "Ends on",
    "licence_days_left": "Days left",
    "licence_seats_used": "Used / seats",
    "licence_source": "Evidence",
    "licence_source:product": "The product's own key on the PC",
    "licence_source:register": "Licence register",
    "licence_expired_already": "Expired",
    "mail_subject": "[kiemke] {count} new alerts ({scope})",
    "mail_greeting": "Dear {user},",
    "mail_intro": "Since the previous message and until {at}, {count} new alerts were opened in {scope}:",
    "mail_outro": "See and acknowledge the alerts on the Alerts page of the inventory console.",
    "mail_scope_all": "the whole district",
    "mail_device": "Device",
    "mail_unit": "Unit",
    "user_alert_mail": "Alert e-mail",
    "user_email": "E-mail address",
    "user_mail_lang": "Language of the e-mail",
    "action:alert.acknowledge": "Alert acknowledged",
    "action:user.contact": "Alert e-mail address changed",
    "alerts_shown_of": "Alerts {first}–{last} of {total}",
    "alerts_pages": "Pages of alerts",
    "mail_outro_at": "See and acknowledge the alerts on the Alerts page:",
}

TEXTS: dict[str, dict[str, str]] = {"vi": VI, "en": EN}


def summary(rule: str, subject: str, detail: dict[str, object]) -> str:
    """What the alert is about, in a few language-neutral words (names, dates, counts)."""
    if rule == "detection_unremediated":
        return f"{detail.get('threat') or subject} ({detail.get('severity', 'unknown')}, {detail.get('status', '')})"
    if rule in ("licence_expiring", "licence_expired"):
        product = detail.get("product") or subject
        ends = detail.get("ends")
        return f"{product} → {ends}" if ends else str(product)
    if rule in ("antivirus_disabled", "antivirus_out_of_date"):
        products = detail.get("products")
        return ", ".join(str(p) for p in products) if isinstance(products, list) else subject
    if rule == "not_seen":
        seen = detail.get("last_seen")
        return str(seen)[:10] if seen else subject
    return subject
