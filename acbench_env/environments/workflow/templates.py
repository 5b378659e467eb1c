"""The templates that Workflow-v0 builds tasks from: the tool catalog, slot values, and
the branches, joins and final steps of the tool-use and household domains (data only; the
generator is :mod:`acbench_env.environments.workflow.generator`)."""

from __future__ import annotations

from dataclasses import dataclass

#: The tool catalog: name -> (signature, description).
TOOLS: dict[str, tuple[str, str]] = {
    "get_weather_forecast": ("city, date", "the weather forecast for a city on a date"),
    "convert_units": ("value, from_unit, to_unit", "converts a measurement between units"),
    "get_stock_price": ("symbol", "the latest price of a stock, in USD"),
    "convert_currency": ("amount, from_currency, to_currency", "converts money between currencies"),
    "search_flights": ("origin, destination, date", "lists flights between two cities"),
    "book_flight": ("flight_id", "books a flight"),
    "create_calendar_event": ("title, start, end", "adds an event to the calendar"),
    "search_hotels": ("city, date", "lists hotels in a city with prices and ratings"),
    "book_hotel": ("hotel_id, date", "reserves a hotel room"),
    "get_news": ("topic", "today's news headlines about a topic"),
    "translate_text": ("text, target_language", "translates text"),
    "summarize_text": ("text", "writes a short summary of a text"),
    "web_search": ("query", "searches the web"),
    "search_recipes": ("dish", "finds a recipe for a dish"),
    "extract_ingredients": ("recipe", "lists the ingredients of a recipe"),
    "place_grocery_order": ("items", "orders groceries for delivery"),
    "read_file": ("path", "reads a text file"),
    "count_words": ("text", "counts the words of a text"),
    "send_email": ("to, subject, body", "sends an email"),
    "post_message": ("channel, text", "posts a message to a chat channel"),
    "create_document": ("title, content", "creates a shared document and returns its link"),
    "get_contacts": ("name", "looks up a person's contact details"),
    "set_reminder": ("text, time", "sets a reminder"),
}

SLOTS: dict[str, tuple[str, ...]] = {
    "city": ("Lisbon", "Osaka", "Nairobi", "Toronto", "Lima", "Oslo", "Hanoi", "Seville"),
    "city2": ("Berlin", "Madrid", "Chicago", "Sydney", "Cairo", "Dublin", "Seoul", "Quito"),
    "date": ("next Monday", "March 3", "tomorrow", "this Friday", "June 12", "next weekend"),
    "symbol": ("AAPL", "MSFT", "NVDA", "TSLA", "AMZN", "SAP", "IBM"),
    "cur": ("EUR", "JPY", "GBP", "CHF", "INR", "BRL"),
    "lang": ("Spanish", "French", "German", "Japanese", "Portuguese", "Italian"),
    "topic": ("renewable energy", "space exploration", "electric cars", "local elections"),
    "query": ("the history of the bicycle", "how solar panels work", "the best hiking boots"),
    "dish": ("lentil soup", "pad thai", "banana bread", "vegetable lasagna", "paella"),
    "file": ("report_q3.txt", "minutes.txt", "draft_essay.txt", "notes_april.txt"),
    "person": ("ana", "kenji", "lucia", "omar", "priya", "tom"),
    "channel": ("team-updates", "travel", "general", "research"),
    "doc": ("Weekly Brief", "Trip Plan", "Research Notes", "Status Report"),
    "food": ("leftover rice", "soup", "pizza slice", "pasta"),
    "loc": ("counter", "cabinet", "shelf", "drawer"),
    "dish_item": ("frying pan", "salad bowl", "cutting board", "teapot"),
    "room": ("living room", "bedroom", "hallway", "kitchen"),
    "fruit": ("apple", "melon", "pineapple", "mango"),
    "spot": ("windowsill", "balcony", "porch", "kitchen shelf"),
}


@dataclass(frozen=True)
class BranchTemplate:
    """A chain of dependent steps; ``phrases[i]``/``steps[i]`` describe step ``i``.

    A branch of length ``L`` uses the first ``L`` steps (tools: each step builds on the
    previous result) or, with ``suffix=True``, the last ``L`` steps (household: the later
    steps are the essential ones).
    """

    phrases: tuple[str, ...]
    steps: tuple[str, ...]
    suffix: bool = False


TOOL_BRANCHES = (
    BranchTemplate(
        (
            "check the weather forecast for {city} on {date}",
            "convert its temperatures to Fahrenheit",
        ),
        (
            "Get the weather forecast for {city} on {date} with get_weather_forecast.",
            "Convert the forecast temperatures to Fahrenheit with convert_units.",
        ),
    ),
    BranchTemplate(
        ("look up the latest price of {symbol} stock", "convert that price to {cur}"),
        (
            "Look up the latest price of {symbol} with get_stock_price.",
            "Convert the {symbol} price from USD to {cur} with convert_currency.",
        ),
    ),
    BranchTemplate(
        (
            "find flights from {city} to {city2} on {date}",
            "book the cheapest one",
            "add the flight to my calendar",
        ),
        (
            "Search flights from {city} to {city2} on {date} with search_flights.",
            "Book the cheapest flight from {city} to {city2} with book_flight.",
            "Add the booked flight to the calendar with create_calendar_event.",
        ),
    ),
    BranchTemplate(
        ("find hotels in {city2} for {date}", "reserve the best-rated one"),
        (
            "Search hotels in {city2} for {date} with search_hotels.",
            "Reserve the best-rated hotel in {city2} with book_hotel.",
        ),
    ),
    BranchTemplate(
        (
            "get today's news about {topic}",
            "translate the headlines into {lang}",
            "summarize the translation",
        ),
        (
            "Fetch today's news headlines about {topic} with get_news.",
            "Translate the {topic} headlines into {lang} with translate_text.",
            "Summarize the translated headlines with summarize_text.",
        ),
    ),
    BranchTemplate(
        ("search the web for {query}", "summarize what you find"),
        (
            "Search the web for {query} with web_search.",
            "Summarize the search results about {query} with summarize_text.",
        ),
    ),
    BranchTemplate(
        ("find a recipe for {dish}", "list its ingredients", "order those ingredients"),
        (
            "Find a recipe for {dish} with search_recipes.",
            "List the ingredients of the {dish} recipe with extract_ingredients.",
            "Order the {dish} ingredients with place_grocery_order.",
        ),
    ),
    BranchTemplate(
        ("read the file {file}", "count its words"),
        (
            "Read the file {file} with read_file.",
            "Count the words in {file} with count_words.",
        ),
    ),
)

TOOL_JOINS = (
    ("email the results to {person}", "Send the results to {person} by email with send_email."),
    (
        "post the results in the #{channel} channel",
        "Post the results to the #{channel} channel with post_message.",
    ),
    (
        "put everything into a document called '{doc}'",
        "Write all results into the document '{doc}' with create_document.",
    ),
)
TOOL_FINALS = (
    (
        "set a reminder to review it tomorrow",
        "Set a reminder to review the results tomorrow with set_reminder.",
    ),
    ("tell {person} about it by email", "Email {person} about the results with send_email."),
)

HOUSE_BRANCHES = (
    BranchTemplate(
        ("take the {food} out of the fridge", "heat the {food} in the microwave"),
        ("Take the {food} out of the fridge.", "Heat the {food} in the microwave."),
        suffix=True,
    ),
    BranchTemplate(
        ("take the bread from the {loc}", "toast the bread"),
        ("Take the bread from the {loc}.", "Toast the bread in the toaster."),
        suffix=True,
    ),
    BranchTemplate(
        ("fill the coffee maker with water", "brew coffee", "pour the coffee into a mug"),
        (
            "Fill the coffee maker with water.",
            "Brew coffee in the coffee maker.",
            "Pour the coffee into a mug.",
        ),
        suffix=True,
    ),
    BranchTemplate(
        ("take the {dish_item} from the {loc}", "wash the {dish_item} in the sink"),
        ("Take the {dish_item} from the {loc}.", "Wash the {dish_item} in the sink."),
        suffix=True,
    ),
    BranchTemplate(
        (
            "load the dirty clothes into the washing machine",
            "run the washing machine",
            "hang the clothes to dry",
        ),
        (
            "Put the dirty clothes in the washing machine.",
            "Run the washing machine.",
            "Hang the clothes up to dry.",
        ),
        suffix=True,
    ),
    BranchTemplate(
        ("get the vacuum cleaner from the closet", "vacuum the {room}"),
        ("Get the vacuum cleaner from the closet.", "Vacuum the {room} floor."),
        suffix=True,
    ),
    BranchTemplate(
        ("fill the watering can", "water the plants on the {spot}"),
        ("Fill the watering can at the sink.", "Water the plants on the {spot}."),
        suffix=True,
    ),
    BranchTemplate(
        ("take the {fruit} from the fruit bowl", "slice the {fruit}"),
        ("Take the {fruit} from the fruit bowl.", "Slice the {fruit} on the cutting board."),
        suffix=True,
    ),
    BranchTemplate(
        ("tie up the trash bag", "take the trash bag out to the bin"),
        ("Tie up the trash bag.", "Carry the trash bag to the outdoor bin."),
        suffix=True,
    ),
)

HOUSE_JOINS = (
    ("serve breakfast at the dining table", "Serve breakfast at the dining table."),
    ("let the guests in", "Open the door and let the guests in."),
    ("tell your roommate that everything is done", "Tell your roommate that everything is done."),
)
HOUSE_FINALS = (
    ("lock the front door", "Lock the front door."),
    ("turn off the kitchen lights", "Turn off the kitchen lights."),
)

HOUSE_INTRO = (
    "You are a household robot in a home with a kitchen, a living room, a bedroom and a "
    "laundry room."
)
